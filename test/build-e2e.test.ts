/** @module test/build-e2e.test — `distill build` end to end on the real Debian archive: podman (runc) runs the image, Trivy sees exactly the resolved packages, OCI tools accept the outputs, builds reproduce, tampering is caught. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, lockImage, type BuildResult } from '../src/build/index.js';
import { isDistillError } from '../src/errors.js';
import { buildOptions, buildReady, debCache, debPackagesInCycloneDx, freePort, podman } from './helpers/build-helpers.js';
import { hasCommand, sharedDir } from './helpers/oracles.js';

const repoRoot = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'distill-e2e-'));
const ready = buildReady;
const options = buildOptions;

describe.skipIf(!ready)('distill build nginx (amd64, real bookworm archive)', () => {
  let port = 0;
  let recipe = '';
  let archive: BuildResult;
  let layout: BuildResult;
  const archivePath = join(work, 'a', 'nginx.tar');
  const layoutPath = join(work, 'b', 'nginx-oci');

  beforeAll(async () => {
    port = await freePort();
    // The catalog recipe, on a free port (host networking), through `extends` like a user would.
    recipe = join(work, 'nginx-e2e.yaml');
    writeFileSync(recipe, [
      'name: nginx-e2e',
      `extends: ${join(repoRoot, 'images', 'nginx.yaml')}`,
      'paths:',
      '  - path: /etc/nginx/sites-available/default',
      '    type: file',
      "    mode: '0644'",
      '    content: |',
      `      server { listen ${port} default_server; root /var/www/html; index index.nginx-debian.html; location / { try_files $uri $uri/ =404; } }`,
      '',
    ].join('\n'));
    archive = await buildImage(recipe, options({ output: `docker-archive:${archivePath}` }));
    // Another directory, another clock: the digests must not move.
    layout = await buildImage(recipe, options({ output: `oci:${layoutPath}`, now: new Date(Date.now() + 3_600_000) }));
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('resolves a small closure with a shared base layer and an app layer', () => {
    const a = archive.archs[0]!;
    const names = a.packages.map((p) => p.name);
    expect(names).toContain('nginx');
    expect(names).toContain('libc6');
    expect(names).not.toContain('debconf');
    expect(names).not.toContain('dpkg');
    expect(a.packages.length).toBeLessThan(30);
    expect(a.baseLayer.packages).toEqual(expect.arrayContaining(['libc6', 'libssl3', 'ca-certificates', 'tzdata', 'base-files']));
    expect(a.baseLayer.packages).not.toContain('nginx');
    expect(a.image.layers).toHaveLength(2);
  });

  it('builds reproducibly: two builds in different directories at different times give the same manifest', () => {
    expect(layout.manifestDigests).toEqual(archive.manifestDigests);
    expect(layout.archs[0]!.baseLayer.digest).toBe(archive.archs[0]!.baseLayer.digest);
  });

  it('runs under podman (runc) as 65532, serves the default page, and has no shell', async () => {
    const pm = podman();
    try {
      const loaded = pm.run(['load', '-q', '-i', archivePath]).stdout;
      const name = /Loaded image(?:\(s\))?: (\S+)/.exec(loaded)?.[1];
      expect(name).toBeDefined();
      const id = pm.run(['run', '-d', '--network', 'host', name!]).stdout.trim();
      let body = '';
      for (let i = 0; i < 50 && !body.includes('Welcome to nginx'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).catch(() => '');
      }
      expect(body).toContain('Welcome to nginx!');
      const users = pm.run(['top', id, 'huser']).stdout.trim().split('\n').slice(1).map((l) => l.trim());
      expect(users.length).toBeGreaterThan(0);
      expect(new Set(users)).toEqual(new Set(['65532']));
      const sh = pm.run(['exec', id, '/bin/sh', '-c', 'true'], { check: false });
      expect(sh.status).not.toBe(0);
      expect(sh.stderr).toMatch(/no such file or directory|not found/);
      pm.run(['rm', '-f', id]);
    } finally {
      pm.cleanup();
    }
  }, 180_000);

  it.skipIf(!hasCommand('bash'))('Trivy finds exactly the resolved packages (names and versions)', () => {
    const out = join(work, 'trivy.cdx.json');
    execFileSync(join(sharedDir, 'tools', 'trivy-packages'), ['image', archivePath, out], { stdio: 'ignore', timeout: 180_000 });
    const trivy = debPackagesInCycloneDx(out);
    const ours = archive.archs[0]!.packages.map((p) => `${p.name} ${p.version}`).sort();
    expect(trivy).toEqual(ours);
  }, 240_000);

  it.skipIf(!hasCommand('oci-image-tool') || !hasCommand('skopeo'))('oci-image-tool and skopeo accept the outputs', () => {
    execFileSync('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', layoutPath], { stdio: 'pipe' });
    const viaLayout = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layoutPath}:latest`], { encoding: 'utf8' })) as { Architecture: string; Layers: string[] };
    expect(viaLayout.Architecture).toBe('amd64');
    expect(viaLayout.Layers).toEqual(layout.archs[0]!.image.layers.map((l) => l.digest));
    const viaArchive = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `docker-archive:${archivePath}`], { encoding: 'utf8' })) as { config: { User: string; Env: string[] } };
    expect(viaArchive.config.User).toBe('65532:65532');
    expect(viaArchive.config.Env.some((e) => e.startsWith('SSL_CERT_FILE='))).toBe(true);
  });

  it('a lock rebuilds the same image; a changed lock entry is LOCK_STALE', async () => {
    const lockPath = join(work, 'nginx-e2e.lock.json');
    await lockImage(recipe, options({ lockPath }));
    const locked = await buildImage(recipe, options({ locked: true, lockPath, explain: true }));
    expect(locked.manifestDigests).toEqual(archive.manifestDigests);
    // --explain of a locked build resolves within the lock: the same why-chains as the build that made it.
    const fresh = await buildImage(recipe, options({ explain: true }));
    expect(locked.archs[0]!.explain!.packages.map((p) => [p.name, p.why, p.layer])).toEqual(fresh.archs[0]!.explain!.packages.map((p) => [p.name, p.why, p.layer]));
    expect(locked.archs[0]!.explain!.excluded).toEqual(fresh.archs[0]!.explain!.excluded);
    const original = readFileSync(lockPath, 'utf8');
    // A lock edited to miss part of the closure (nginx needs libpcre2-8-0) is refused, not built into a broken image.
    const trimmed = JSON.parse(original) as { archs: Record<string, { name: string }[]> };
    trimmed.archs.amd64 = trimmed.archs.amd64!.filter((e) => e.name !== 'libpcre2-8-0');
    writeFileSync(lockPath, JSON.stringify(trimmed));
    const incomplete = await buildImage(recipe, options({ locked: true, lockPath })).catch((e: unknown) => e);
    expect(isDistillError(incomplete) && [incomplete.code, /not the recipe's closure.*libpcre2-8-0/.test(incomplete.message)]).toEqual(['LOCK_STALE', true]);
    const lock = JSON.parse(original) as { archs: Record<string, { name: string; sha256: string }[]> };
    const entry = lock.archs.amd64!.find((e) => e.name === 'nginx')!;
    entry.sha256 = entry.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    writeFileSync(lockPath, JSON.stringify(lock));
    const error = await buildImage(recipe, options({ locked: true, lockPath })).catch((e: unknown) => e);
    expect(isDistillError(error) && error.code).toBe('LOCK_STALE');
  }, 120_000);

  it('a tampered cached .deb refuses the build (DEB_HASH_MISMATCH)', async () => {
    const tampered = join(work, 'tampered-cache');
    mkdirSync(join(tampered, 'sha256'), { recursive: true });
    for (const f of readdirSync(join(debCache, 'sha256'))) if (!f.startsWith('.tmp')) copyFileSync(join(debCache, 'sha256', f), join(tampered, 'sha256', f));
    const nginx = archive.archs[0]!.packages.find((p) => p.name === 'nginx')!;
    const file = join(tampered, 'sha256', `${nginx.sha256}.deb`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const error = await buildImage(recipe, options({ cacheDir: tampered })).catch((e: unknown) => e);
    expect(isDistillError(error) && error.code).toBe('DEB_HASH_MISMATCH');
  }, 120_000);
});
