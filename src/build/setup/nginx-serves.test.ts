/** @module build/setup/nginx-serves.test — images/nginx.yaml's package set, selected and set up by distill (no maintainer scripts), serves its default page as uid 65532. */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, lchownSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cached, hasCommand } from '../../../test/helpers/oracles.js';
import { readDeb } from '../deb/deb-reader.js';
import { loadRecipe } from '../recipe/recipe.js';
import { installSelection, selectFiles } from '../select.js';
import { ImageTree } from '../tree.js';
import { applySetup, type SetupPackage } from './apply-setup.js';

const images = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'images');
/** images/nginx.yaml's closure as the resolver gives it on bookworm amd64 (see catalog.test.ts). */
const NGINX_CLOSURE = ['base-files', 'ca-certificates', 'gcc-12-base', 'libc6', 'libcrypt1', 'libgcc-s1', 'libpcre2-8-0', 'libssl3', 'netbase', 'nginx', 'nginx-common', 'tzdata', 'zlib1g'];
const work = mkdtempSync(join(tmpdir(), 'distill-nginx-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(process.getuid?.() !== 0 || !hasCommand('chroot') || process.arch !== 'x64')('nginx from images/nginx.yaml', () => {
  it('serves the default page as nonroot (65532) with only distill setup applied', async () => {
    const debs = cached('debs-recipe-nginx-v1', (tmp) => {
      mkdirSync(tmp, { recursive: true });
      execFileSync('apt-get', ['download', ...NGINX_CLOSURE], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    });
    // The catalog recipe, with the listen port moved to a free one for the test (a child recipe, via extends).
    const port = 20000 + (process.pid % 20000);
    const recipePath = join(work, 'nginx-test.yaml');
    writeFileSync(recipePath, [
      'name: nginx-test',
      `extends: ${join(images, 'nginx.yaml')}`,
      'paths:',
      '  - path: /etc/nginx/sites-available/default',
      '    type: file',
      `    content: "server { listen 127.0.0.1:${port} default_server; root /var/www/html; index index.nginx-debian.html; }\\n"`,
    ].join('\n'));
    const recipe = loadRecipe(recipePath);
    expect(recipe.contents.packages).toContain('nginx');

    const tree = new ImageTree();
    const packages: SetupPackage[] = [];
    for (const name of NGINX_CLOSURE) {
      const file = readdirSync(debs).find((f) => f.startsWith(`${name}_`))!;
      const deb = await readDeb(join(debs, file));
      packages.push({ control: deb.control.text, files: installSelection(tree, selectFiles(deb.files, { package: name, conffiles: deb.conffiles })) });
    }
    const report = applySetup(tree, { packages, recipe, arch: 'amd64' });
    expect(report.runAs).toEqual({ uid: 65532, gid: 65532, name: 'nonroot' });

    const root = join(work, 'rootfs');
    mkdirSync(root);
    const dirs: [string, number][] = [];
    for (const [path, node] of tree.walk()) {
      const target = join(root, path);
      if (node.type === 'dir') {
        mkdirSync(target, { recursive: true });
        dirs.push([target, node.mode]);
      } else if (node.type === 'file') writeFileSync(target, node.content ?? Buffer.alloc(0));
      else if (node.type === 'symlink') symlinkSync(node.target ?? '', target);
      else linkSync(join(root, node.target ?? ''), target);
      lchownSync(target, node.uid, node.gid);
      if (node.type === 'file') chmodSync(target, node.mode);
    }
    for (const [target, mode] of dirs.reverse()) chmodSync(target, mode);

    const server = spawn('chroot', ['--userspec=65532:65532', root, '/usr/sbin/nginx', '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      let response: { status: number; body: string } | undefined;
      for (let i = 0; i < 50 && response === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        response = await get(port).catch(() => undefined);
        if (server.exitCode !== null) break;
      }
      expect(response, stderr).toBeDefined();
      expect(response!.status).toBe(200);
      expect(response!.body).toContain('<title>Welcome to nginx!</title>');
      expect(stderr).not.toMatch(/\[(emerg|alert|crit)\]/);
    } finally {
      // chroot execs nginx, so this is the nginx master: TERM makes it stop its workers too.
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });
});
