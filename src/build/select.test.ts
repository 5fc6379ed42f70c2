/** @module build/select.test — file selection on real .debs against dpkg-deb and dpkg's own path filters (the stock image), plus hostile entries. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { readRealDeb, realDeb } from '../../test/fixtures/recipe/real-debs.js';
import { cached, stockImage } from '../../test/helpers/oracles.js';
import { addMergedUsrLinks, dropRuleFor, installSelection, mergedUsrPath, pathExcluder, selectFiles, type DebFileEntry } from './select.js';
import { ImageTree } from './tree.js';

/** Member names as dpkg-deb lists them (`./lib/x86_64-linux-gnu/libc.so.6`), directories without the trailing slash. */
function dpkgDebMembers(deb: string): { path: string; type: string }[] {
  const out = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], { maxBuffer: 1 << 28 });
  const listing = execFileSync('tar', ['-tv', '--numeric-owner'], { input: out, maxBuffer: 1 << 26 }).toString();
  return listing.split('\n').filter(Boolean).map((line) => {
    const name = line.replace(/^\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+/, '').replace(/ -> .*$/, '').replace(/ link to .*$/, '');
    return { path: '/' + name.replace(/^\.\/?/, '').replace(/\/$/, ''), type: line[0]! };
  }).filter((m) => m.path !== '/');
}

/** The stock nginx image's single layer: its entry names and a file's bytes. */
function stockLayer(): { names: Set<string>; read: (path: string) => Buffer } {
  const archive = stockImage('nginx');
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json']).toString()) as { Layers: string[] }[];
  const layer = cached('recipe-stock-nginx-layer.tar', (tmp) => execFileSync('sh', ['-c', 'tar -xOf "$1" "$2" > "$3"', 'sh', archive, manifest[0]!.Layers[0]!, tmp]));
  const names = new Set(execFileSync('tar', ['-tf', layer], { maxBuffer: 1 << 28 }).toString().split('\n').filter(Boolean).map((n) => '/' + n.replace(/^\.\/?/, '').replace(/\/$/, '')));
  return { names, read: (path) => execFileSync('tar', ['-xOf', layer, `.${path}`], { maxBuffer: 1 << 28 }) };
}

describe('selectFiles on real packages', () => {
  it('libc6: every dpkg-deb member is kept at its merged-/usr path or counted under a rule', async () => {
    const deb = await readRealDeb('libc6');
    const members = dpkgDebMembers(realDeb('libc6'));
    const selection = selectFiles(deb.files, { package: 'libc6', conffiles: deb.conffiles });
    const kept = new Set(selection.entries.map((e) => e.path));
    const droppedTotal = Object.values(selection.dropped).reduce((n, d) => n + d.entries, 0);
    expect(selection.entries.length + droppedTotal).toBe(members.length);
    for (const member of members) {
      const path = mergedUsrPath(member.path);
      const expectDropped = /^\/usr\/share\/(doc|man|info|locale|lintian|linda|groff)(\/|$)/.test(path) && !/^\/usr\/share\/doc\/[^/]+\/copyright$/.test(path);
      // ./lib itself becomes the /lib → usr/lib link (its /usr/lib twin comes from ./usr/lib).
      if (member.type === 'd' && /^\/(bin|sbin|lib|lib32|lib64|libx32)$/.test(member.path)) continue;
      expect(kept.has(path), path).toBe(!expectDropped);
    }
    expect(selection.usrMergedDirs).toEqual(expect.arrayContaining(['lib', 'lib64']));
    expect(selection.rewritten).toBe(members.filter((m) => mergedUsrPath(m.path) !== m.path && !/^\/[^/]+$/.test(m.path)).length);
    expect(selection.rewritten).toBeGreaterThan(10);
    expect(kept.has('/usr/share/doc/libc6/copyright')).toBe(true);
    expect(selection.dropped.doc?.entries).toBeGreaterThan(3);
    expect(selection.dropped.doc?.bytes).toBeGreaterThan(1000);
    expect(selection.conffiles).toEqual(deb.conffiles.map(mergedUsrPath).sort());
  });

  it('libc6: keeps exactly the files dpkg kept in the stock image under the same path filters (same version)', async () => {
    const stock = stockLayer();
    const status = stock.read('/var/lib/dpkg/status').toString();
    const deb = await readRealDeb('libc6');
    const version = deb.control.fields.get('version');
    const stockVersion = /Package: libc6\n(?:.+\n)*?Version: (.+)/.exec(status)?.[1];
    expect(stockVersion).toBe(version);
    const listed = stock.read('/var/lib/dpkg/info/libc6:amd64.list').toString().split('\n').filter((l) => l !== '' && l !== '/.');
    const selection = selectFiles(deb.files, { package: 'libc6' });
    const keptNonDirs = new Set(selection.entries.filter((e) => e.type !== 'dir').map((e) => e.path));
    const debTypes = new Map(deb.files.map((f) => [mergedUsrPath(f.path), f.type]));
    let compared = 0;
    for (const raw of listed) {
      const path = mergedUsrPath(raw);
      if (debTypes.get(path) === 'dir' || /^\/(bin|sbin|lib|lib64)$/.test(raw)) continue;
      expect(keptNonDirs.has(path), path).toBe(stock.names.has(path));
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
  });

  it('libc6 installed into a tree: /lib64/ld-linux-x86-64.so.2 resolves to the real loader under /usr/lib', async () => {
    const deb = await readRealDeb('libc6');
    const tree = new ImageTree();
    const kept = installSelection(tree, selectFiles(deb.files, { package: 'libc6', conffiles: deb.conffiles }));
    expect(tree.get('/lib')).toMatchObject({ type: 'symlink', target: 'usr/lib' });
    expect(tree.get('/lib64')).toMatchObject({ type: 'symlink', target: 'usr/lib64' });
    const loader = tree.lookup('/lib64/ld-linux-x86-64.so.2');
    expect(loader?.path).toBe('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    expect(loader?.node.content?.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    // md5s are the package's own (control.tar md5sums, which leaves conffiles out, as installSelection does).
    const md5ByPath = new Map([...deb.md5sums].map(([p, m]) => [mergedUsrPath(p), m]));
    for (const file of kept) expect(file.md5, file.path).toBe(md5ByPath.get(file.path));
    expect(kept.map((f) => f.path)).not.toContain('/etc/ld.so.conf.d/x86_64-linux-gnu.conf');
    expect(kept.length).toBeGreaterThan(100);
  });

  it('nginx-common: /etc conffiles are kept, docs are not', async () => {
    const deb = await readRealDeb('nginx-common');
    const selection = selectFiles(deb.files, { package: 'nginx-common', conffiles: deb.conffiles });
    const kept = new Set(selection.entries.map((e) => e.path));
    expect(deb.conffiles).toContain('/etc/nginx/nginx.conf');
    for (const conffile of deb.conffiles) expect(kept.has(conffile), conffile).toBe(true);
    expect([...kept].filter((p) => p.startsWith('/usr/share/doc/'))).toEqual(['/usr/share/doc/nginx-common/copyright']);
    expect(kept.has('/var/www/html/index.nginx-debian.html') || kept.has('/usr/share/nginx/html/index.html')).toBe(true);
  });
});

describe('selectFiles rules and hostile entries', () => {
  const entry = (path: string, type: DebFileEntry['type'] = 'file', extra: Partial<DebFileEntry> = {}): DebFileEntry => ({ path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: extra.content?.length ?? 0, ...extra });

  it('keeps only the requested locales (and the shared files beside them when any is kept)', () => {
    const entries = [entry('./usr/share/locale/de/LC_MESSAGES/x.mo'), entry('./usr/share/locale/fr/LC_MESSAGES/x.mo'), entry('./usr/share/locale/locale.alias')];
    expect(selectFiles(entries, { package: 'x' }).entries).toEqual([]);
    expect(selectFiles(entries, { package: 'x', locales: ['de'] }).entries.map((e) => e.path)).toEqual(['/usr/share/locale/de/LC_MESSAGES/x.mo', '/usr/share/locale/locale.alias']);
    expect(selectFiles(entries, { package: 'x', locales: ['*'] }).entries).toHaveLength(3);
    expect(dropRuleFor('/usr/share/doc/x/copyright')).toBeUndefined();
    expect(dropRuleFor('/usr/share/doc/x/sub/copyright')).toBe('doc');
    expect(dropRuleFor('/usr/share/doc-base/x')).toBeUndefined();
    expect(dropRuleFor('/usr/share/groff/current/tmac')).toBe('groff');
  });

  it('drops what the recipe\'s exclude-paths match (after the merged-/usr rewrite), never conffiles or copyright files', () => {
    const exclude = pathExcluder(['/usr/lib/*/gconv', '/usr/share/vim', '/etc/x?.conf', '/usr/share/**/*.vim'])!;
    const entries = [
      entry('./lib/x86_64-linux-gnu/gconv', 'dir'), entry('./lib/x86_64-linux-gnu/gconv/IBM1390.so', 'file', { content: Buffer.alloc(7) }),
      entry('./usr/lib/gconv/keep.so'), entry('./usr/share/vim', 'dir'), entry('./usr/share/vim/addons/syntax/nginx.vim'), entry('./usr/share/vimrc'),
      entry('./usr/share/nginx/a/b/c.vim'), entry('./etc/x1.conf'), entry('./etc/x12.conf'), entry('./usr/share/doc/vim/copyright'),
      entry('./etc/x2.conf'),
    ];
    const selection = selectFiles(entries, { package: 'x', exclude, conffiles: ['/etc/x2.conf'] });
    expect(selection.entries.map((e) => e.path)).toEqual(['/usr/lib/gconv/keep.so', '/usr/share/vimrc', '/etc/x12.conf', '/usr/share/doc/vim/copyright', '/etc/x2.conf']);
    expect(selection.dropped.recipe).toEqual({ entries: 6, bytes: 7 });
    // Regex metacharacters in a pattern are literal.
    expect(pathExcluder(['/usr/lib/libc++.so'])!('/usr/lib/libc++.so')).toBe(true);
    expect(pathExcluder(['/usr/lib/libc++.so'])!('/usr/lib/libcc.so')).toBe(false);
    expect(pathExcluder([])).toBeUndefined();
  });

  it('rewrites a relative symlink that would break after moving into /usr, and keeps the others byte for byte', () => {
    const selection = selectFiles([
      entry('./lib/x86_64-linux-gnu/libz.so.1', 'symlink', { linkTarget: 'libz.so.1.2.13' }),
      entry('./lib/libfoo.so', 'symlink', { linkTarget: '../usr/lib/libfoo.so.1' }),
      entry('./sbin/tool', 'symlink', { linkTarget: '/usr/bin/tool' }),
    ], { package: 'x' });
    expect(selection.entries.map((e) => [e.path, e.target])).toEqual([
      ['/usr/lib/x86_64-linux-gnu/libz.so.1', 'libz.so.1.2.13'],
      ['/usr/lib/libfoo.so', 'libfoo.so.1'],
      ['/usr/sbin/tool', '/usr/bin/tool'],
    ]);
  });

  it('refuses escaping paths, drops devices and hardlinks to dropped files', () => {
    try {
      selectFiles([entry('./../../etc/passwd')], { package: 'evil' });
      expect.unreachable();
    } catch (error) {
      expect(isDistillError(error, 'PATH_ESCAPE')).toBe(true);
    }
    const selection = selectFiles([
      entry('./dev/null', 'char'),
      entry('./usr/share/doc/x/README', 'file', { content: Buffer.from('readme') }),
      entry('./usr/bin/readme-link', 'hardlink', { linkTarget: '/usr/share/doc/x/README' }),
      entry('./bin/real', 'file', { content: Buffer.from('ELF') }),
      entry('./bin/alias', 'hardlink', { linkTarget: '/bin/real' }),
    ], { package: 'x' });
    expect(selection.entries.map((e) => [e.path, e.type, e.target])).toEqual([['/usr/bin/real', 'file', undefined], ['/usr/bin/alias', 'hardlink', '/usr/bin/real']]);
    expect(selection.dropped).toMatchObject({ special: { entries: 1 }, doc: { entries: 2, bytes: 6 } });
  });

  it('refuses a package that ships a real file where merged /usr needs the /lib link', () => {
    const tree = new ImageTree();
    tree.addFile('/lib', 'not a directory', { origin: 'evil' });
    try {
      addMergedUsrLinks(tree, ['lib']);
      expect.unreachable();
    } catch (error) {
      expect(isDistillError(error, 'TREE_CONFLICT')).toBe(true);
    }
  });
});
