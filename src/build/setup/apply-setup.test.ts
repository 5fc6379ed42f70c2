/** @module build/setup/apply-setup.test — setup on real .debs: the CA bundle against the package's own update-ca-certificates, accounts and alternatives through libc in a chroot, status.d through Trivy. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeb822 } from '../../debian/deb822.js';
import { isDistillError } from '../../errors.js';
import { readRealDeb, realDeb, SETUP_PACKAGES } from '../../../test/fixtures/recipe/real-debs.js';
import { hasCommand, sharedDir } from '../../../test/helpers/oracles.js';
import { parseRecipe, type Recipe } from '../recipe/recipe.js';
import { installSelection, mergedUsrPath, selectFiles } from '../select.js';
import { ImageTree } from '../tree.js';
import { applySetup, type SetupPackage, type SetupReport } from './apply-setup.js';
import { buildCaBundle } from './ca-bundle.js';

const work = mkdtempSync(join(tmpdir(), 'distill-setup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A self-signed CA made with openssl, as a recipe would add it. */
function makeCa(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.crt')], { stdio: 'ignore' });
  return readFileSync(join(dir, 'ca.crt'), 'utf8');
}

async function installed(names: readonly string[], recipe: Recipe, arch = 'amd64'): Promise<{ tree: ImageTree; report: SetupReport }> {
  const tree = new ImageTree();
  const packages: SetupPackage[] = [];
  for (const name of names) {
    const deb = await readRealDeb(name);
    const files = installSelection(tree, selectFiles(deb.files, { package: name, conffiles: deb.conffiles }));
    packages.push({ control: deb.control.text, files });
  }
  return { tree, report: applySetup(tree, { packages, recipe, arch }) };
}

/** Writes the tree to a real directory with its owners and modes (root only), for tools that read a filesystem. */
function materialise(tree: ImageTree, dir: string): void {
  const dirs: [string, number][] = [];
  mkdirSync(dir, { recursive: true });
  for (const [path, node] of tree.walk()) {
    const target = join(dir, path);
    if (node.type === 'dir') {
      mkdirSync(target, { recursive: true });
      dirs.push([target, node.mode]);
    } else if (node.type === 'file') writeFileSync(target, node.content ?? Buffer.alloc(0), { mode: node.mode });
    else if (node.type === 'symlink') symlinkSync(node.target ?? '', target);
    else linkSync(join(dir, node.target ?? ''), target);
    lchownSync(target, node.uid, node.gid);
    if (node.type === 'file') chmodSync(target, node.mode);
  }
  for (const [target, mode] of dirs.reverse()) chmodSync(target, mode);
}

describe('CA bundle', () => {
  let extraCa = '';
  beforeAll(() => {
    extraCa = makeCa('distill-test-ca');
  });

  /** The real update-ca-certificates from the same .deb, pointed at the extracted package (no system paths touched). */
  function realBundle(confLines: string[] | undefined, localCert?: string): { bundle: Buffer; pemLinks: string[] } {
    const root = mkdtempSync(join(work, 'uca-'));
    execFileSync('dpkg-deb', ['-x', realDeb('ca-certificates'), root]);
    mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true });
    mkdirSync(join(root, 'usr/local/share/ca-certificates'), { recursive: true });
    mkdirSync(join(root, 'hooks'));
    if (localCert !== undefined) writeFileSync(join(root, 'usr/local/share/ca-certificates/extra.crt'), localCert);
    const conf = join(root, 'ca-certificates.conf');
    writeFileSync(conf, confLines === undefined ? '' : confLines.join('\n') + '\n');
    const args = [join(root, 'usr/sbin/update-ca-certificates'), '--certsconf', conf, '--certsdir', join(root, 'usr/share/ca-certificates'), '--localcertsdir', join(root, 'usr/local/share/ca-certificates'), '--etccertsdir', join(root, 'etc/ssl/certs'), '--hooksdir', join(root, 'hooks')];
    if (confLines === undefined) args.push('--default');
    execFileSync('sh', args, { stdio: 'ignore', env: { ...process.env, LC_ALL: 'C' } });
    const pemLinks = readdirSync(join(root, 'etc/ssl/certs')).filter((n) => n.endsWith('.pem') && !/^[0-9a-f]{8}\.\d+$/.test(n)).sort();
    return { bundle: readFileSync(join(root, 'etc/ssl/certs/ca-certificates.crt')), pemLinks };
  }

  it('is byte-identical to update-ca-certificates --default over the same package, plus a recipe CA', async () => {
    const deb = await readRealDeb('ca-certificates');
    const tree = new ImageTree();
    installSelection(tree, selectFiles(deb.files, { package: 'ca-certificates' }));
    tree.addFile('/usr/local/share/ca-certificates/extra.crt', extraCa);
    const ours = buildCaBundle(tree)!;
    const real = realBundle(undefined, extraCa);
    expect(ours.sources.length).toBeGreaterThan(100);
    expect(ours.content.equals(real.bundle)).toBe(true);
    expect([...ours.links.keys()].map((l) => l.slice('/etc/ssl/certs/'.length)).sort()).toEqual(real.pemLinks);
  });

  it('honours /etc/ca-certificates.conf selections and ! deselections as update-ca-certificates does', async () => {
    const deb = await readRealDeb('ca-certificates');
    const all = deb.files.filter((f) => f.path.endsWith('.crt')).map((f) => f.path.slice('/usr/share/ca-certificates/'.length)).sort();
    const conf = ['# chosen by hand', `!${all[0]!}`, all[2]!, all[1]!, 'mozilla/Not_There.crt'];
    const tree = new ImageTree();
    installSelection(tree, selectFiles(deb.files, { package: 'ca-certificates' }));
    tree.addFile('/etc/ca-certificates.conf', conf.join('\n') + '\n');
    const ours = buildCaBundle(tree)!;
    expect(ours.sources).toEqual([`/usr/share/ca-certificates/${all[2]!}`, `/usr/share/ca-certificates/${all[1]!}`]);
    expect(ours.content.equals(realBundle(conf).bundle)).toBe(true);
  });
});

describe('applySetup on real packages', () => {
  const recipeText = [
    'name: setup-test',
    'variant: dev',
    'paths:',
    '  - { path: /usr/local/share/ca-certificates/extra.crt, type: file, content: "PLACEHOLDER" }',
    '  - { path: /srv/data, type: directory, owner: "nonroot", mode: "0750" }',
    '  - { path: /etc/nginx/conf.d/port.conf, type: file, owner: "www-data:www-data", content: "# 8080\\n" }',
  ].join('\n');

  it('writes accounts, os-release, /tmp, homes, nginx and alternatives effects, and distroless-style status.d', async () => {
    const ca = makeCa('distill-setup-ca');
    const recipe = parseRecipe(recipeText.replace('PLACEHOLDER', ca.replace(/\n/g, '\\n')), join(work, 'r.yaml'));
    const { tree, report } = await installed(SETUP_PACKAGES, recipe);
    const text = (p: string): string => tree.lookup(p)?.node.content?.toString() ?? '';

    expect(text('/etc/passwd').split('\n')).toEqual(expect.arrayContaining(['root:x:0:0:root:/root:/bin/sh', 'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin', 'nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin']));
    expect(text('/etc/group').split('\n')).toEqual(expect.arrayContaining(['root:x:0:', 'www-data:x:33:', 'nonroot:x:65532:', 'nogroup:x:65534:']));
    expect(text('/etc/os-release')).toContain('PRETTY_NAME="Distill (Debian GNU/Linux 12 bookworm)"');
    expect(text('/etc/os-release')).toMatch(/^ID=debian$/m);
    expect(text('/etc/os-release')).toMatch(/^VERSION_ID="12"$/m);
    expect(tree.get('/etc/os-release')).toMatchObject({ type: 'symlink', target: '../usr/lib/os-release' });
    expect(text('/etc/debian_version')).toMatch(/^12\.\d+/); // shipped by base-files, kept as is
    expect(tree.get('/tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(tree.get('/home/nonroot')).toMatchObject({ type: 'dir', uid: 65532, gid: 65532, mode: 0o700 });
    expect(tree.get('/var/lib/nginx')).toMatchObject({ type: 'dir', uid: 65532, gid: 65532 });
    expect(tree.get('/var/log/nginx')).toMatchObject({ type: 'dir', uid: 65532, gid: 65532 });
    expect(tree.get('/etc/nginx/sites-enabled/default')).toMatchObject({ type: 'symlink', target: '/etc/nginx/sites-available/default' });
    expect(tree.lookup('/etc/nginx/sites-enabled/default')?.node.type).toBe('file');
    expect(text('/var/www/html/index.nginx-debian.html')).toBe(text('/usr/share/nginx/html/index.html'));
    expect(text('/var/www/html/index.nginx-debian.html')).toContain('Welcome to nginx!');
    expect(tree.get('/usr/bin/awk')).toMatchObject({ type: 'symlink', target: '/etc/alternatives/awk' });
    expect(tree.lookup('/usr/bin/awk')?.path).toBe('/usr/bin/mawk');
    expect(report.alternatives).toEqual({ awk: '/usr/bin/mawk' });
    expect(tree.get('/etc/localtime')).toMatchObject({ type: 'symlink', target: '/usr/share/zoneinfo/Etc/UTC' });
    expect(tree.get('/srv/data')).toMatchObject({ type: 'dir', uid: 65532, gid: 65532, mode: 0o750 });
    expect(tree.get('/etc/nginx/conf.d/port.conf')).toMatchObject({ uid: 33, gid: 33, mode: 0o644 });
    expect(tree.get('/bin')).toMatchObject({ type: 'symlink', target: 'usr/bin' });
    // The recipe's extra CA is the last certificate of the bundle.
    const bundle = text('/etc/ssl/certs/ca-certificates.crt');
    expect(bundle.endsWith(ca)).toBe(true);
    expect(report.caCertificates.at(-1)).toBe('/usr/local/share/ca-certificates/extra.crt');
    expect(tree.lookup('/usr/lib/ssl/cert.pem')?.path).toBe('/etc/ssl/certs/ca-certificates.crt');

    // status.d: the control paragraph verbatim plus Status, and md5sums in dpkg's format.
    const nginx = await readRealDeb('nginx-common');
    const status = text('/var/lib/dpkg/status.d/nginx-common');
    const paragraphs = parseDeb822(status).paragraphs;
    expect(paragraphs).toHaveLength(1);
    expect(paragraphs[0]!.fields.get('status')).toBe('install ok installed');
    expect(status.replace('Status: install ok installed\n', '')).toBe(nginx.control.text.replace(/\n*$/, '\n'));
    expect(status.split('\n')[1]).toBe('Status: install ok installed');
    const md5sums = text('/var/lib/dpkg/status.d/nginx-common.md5sums').trimEnd().split('\n');
    expect(md5sums.length).toBeGreaterThan(5);
    const packageMd5 = new Map([...nginx.md5sums].map(([p, m]) => [mergedUsrPath(p), m]));
    for (const line of md5sums) {
      const [md5, path] = line.split('  ');
      expect(packageMd5.get(`/${path!}`), path).toBe(md5);
    }
    expect(report.statusFiles).toHaveLength(SETUP_PACKAGES.length);
  });

  it('runs: getpwnam/getgrnam through the real libc, the awk alternative and the dev shell, in a chroot', async () => {
    if (process.getuid?.() !== 0 || !hasCommand('chroot')) return;
    const recipe = parseRecipe(recipeText.replace('PLACEHOLDER', ''), join(work, 'r2.yaml'));
    const { tree } = await installed(SETUP_PACKAGES, recipe);
    const root = join(work, 'rootfs');
    materialise(tree, root);
    const run = (...argv: string[]): string => execFileSync('chroot', ['--userspec=65532:65532', root, ...argv], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).toString();
    expect(run('/usr/bin/id')).toBe('uid=65532(nonroot) gid=65532(nonroot) groups=65532(nonroot)\n');
    expect(run('/usr/bin/sh', '-c', 'ls -ld /var/lib/nginx /var/log/nginx /tmp | awk \'{print $1, $3}\'')).toBe('drwxrwxrwt root\ndrwxr-xr-x nonroot\ndrwxr-xr-x nonroot\n') // busybox ls sorts its arguments;
    expect(run('/usr/bin/awk', 'BEGIN { print 6 * 7 }')).toBe('42\n');
    expect(run('/usr/bin/readlink', '-f', '/usr/bin/awk')).toBe('/usr/bin/mawk\n');
    expect(run('/usr/bin/sh', '-c', 'stat -c %U /etc/nginx/conf.d/port.conf')).toBe('www-data\n');
    // The non-root user may write where nginx needs to.
    expect(spawnSync('chroot', ['--userspec=65532:65532', root, '/usr/bin/touch', '/var/log/nginx/error.log', '/var/lib/nginx/x', '/run/nginx.pid']).status).toBe(0);
  });

  it('Trivy finds exactly the installed packages, with their versions, from status.d', async () => {
    const trivy = join(sharedDir, 'tools', 'trivy-packages');
    if (!existsSync(trivy)) return;
    const recipe = parseRecipe('name: trivy-test\n', join(work, 'r3.yaml'));
    const names = ['base-files', 'ca-certificates', 'nginx-common', 'mawk', 'libc6', 'tzdata'];
    const { tree } = await installed(names, recipe);
    const root = join(work, 'trivy-rootfs');
    materialise(tree, root);
    const out = join(work, 'trivy.cdx.json');
    execFileSync(trivy, ['rootfs', root, out], { stdio: 'ignore' });
    const sbom = JSON.parse(readFileSync(out, 'utf8')) as { metadata?: { component?: unknown }; components?: { name: string; version: string; type: string; purl?: string }[] };
    const found = (sbom.components ?? []).filter((c) => c.purl?.startsWith('pkg:deb/')).map((c) => `${c.name}@${c.version}`).sort();
    const expected = await Promise.all(names.map(async (n) => `${n}@${(await readRealDeb(n)).control.fields.get('version')!}`));
    expect(found).toEqual(expected.sort());
    const os = (sbom.components ?? []).find((c) => c.type === 'operating-system');
    expect(os).toMatchObject({ name: 'debian' });
    expect(os?.version).toMatch(/^12(\.\d+)?$/);
  });
});

describe('applySetup refusals', () => {
  it('refuses a recipe owner naming no account, and a hostile control file', () => {
    const tree = new ImageTree();
    const recipe = parseRecipe('name: x\npaths:\n  - { path: /x, type: file, owner: "ghost" }\n', join(work, 'bad.yaml'));
    try {
      applySetup(tree, { packages: [], recipe });
      expect.unreachable();
    } catch (error) {
      expect(isDistillError(error, 'RECIPE_INVALID')).toBe(true);
      expect((error as Error).message).toContain('owner `ghost` names no user');
    }
    for (const control of ['Package: ../../etc\nVersion: 1\n', 'Version: 1\n', 'Package: a\n\nPackage: b\n', `Package: a\nDescription: ${'x'.repeat(2 * 1024 * 1024)}\n`]) {
      try {
        applySetup(new ImageTree(), { packages: [{ control }], recipe: parseRecipe('name: x\n', join(work, 'ok.yaml')) });
        expect.unreachable();
      } catch (error) {
        expect(isDistillError(error, 'DEB_INVALID'), control.slice(0, 30)).toBe(true);
      }
    }
  });
});
