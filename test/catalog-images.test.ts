/** @module test/catalog-images.test — every catalog image (static, base, python, node, redis, python-dev, nginx-dev) built from the real archive runs under podman (runc) as 65532 without a shell, does its job (static binary, glibc program, HTTPS through a recipe-added CA from python and node, redis PING, nginx serving from nginx-dev's busybox shell), and Trivy finds exactly the resolved packages. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReady, cachedBuild, debPackagesInCycloneDx, freePort, podman, trivyImagePackagesAsync, type CachedBuild, type Podman } from './helpers/build-helpers.js';
import { cached, hasCommand } from './helpers/oracles.js';

const repoRoot = resolve(import.meta.dirname, '..');
const images = join(repoRoot, 'images');
const ready = buildReady && hasCommand('openssl') && hasCommand('gcc');
const work = mkdtempSync(join(tmpdir(), 'distill-catalog-'));
const BODY = 'hello from the distill test server';

/** A test CA, generated once and cached: its bytes go into the python/node test recipes, so their digests (and cached builds) stay put. */
function testCa(): string {
  return cached('catalog-test-ca-v1', (tmp) => {
    execFileSync('mkdir', ['-p', tmp]);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '36500',
      '-subj', '/CN=distill catalog test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', join(tmp, 'ca.key'), '-out', join(tmp, 'ca.crt')], { stdio: 'pipe' });
  });
}

/** A server certificate for 127.0.0.1 signed by the test CA (per run: its key never leaves the temp dir). */
function serverCert(ca: string): { key: Buffer; cert: Buffer } {
  const key = join(work, 'server.key');
  const csr = join(work, 'server.csr');
  const crt = join(work, 'server.crt');
  const ext = join(work, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(ca, 'ca.crt'), '-CAkey', join(ca, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', crt], { stdio: 'pipe', cwd: work });
  return { key: readFileSync(key), cert: readFileSync(crt) };
}

/** A recipe that extends a catalog image and adds the test CA under /usr/local/share/ca-certificates, as a user would. */
function withCa(base: string, ca: string): string {
  const name = `${base}-ca`;
  copyFileSync(join(ca, 'ca.crt'), join(work, 'distill-test-ca.crt'));
  const path = join(work, `${name}.yaml`);
  writeFileSync(path, [
    `name: ${name}`,
    `extends: ${join(images, `${base}.yaml`)}`,
    'paths:',
    '  - { path: /usr/local/share/ca-certificates/distill-test-ca.crt, type: file, source: distill-test-ca.crt }',
    '',
  ].join('\n'));
  return path;
}

describe.skipIf(!ready)('catalog images under podman (amd64, real bookworm archive)', () => {
  const built: Record<string, CachedBuild> = {};
  const loaded: Record<string, string> = {};
  let pm: Podman;
  let server: Server;
  let httpsPort = 0;
  let counter = 0;
  const unique = (what: string): string => `distill-cat-${process.pid}-${what}-${counter++}`;

  /** Runs a container detached (unique name, time limit), waits for it to exit, and always removes it. */
  async function runToExit(image: string, options: string[], command: string[] = [], timeoutSeconds = 60): Promise<{ code: number; logs: string }> {
    const name = unique('run');
    try {
      const started = await pm.runAsync(['run', '-d', '--name', name, ...options, image, ...command], { check: false });
      if (started.status !== 0) return { code: -1, logs: started.stderr };
      const waited = await pm.runAsync(['wait', name], { check: false, timeout: timeoutSeconds * 1000 });
      const logs = await pm.runAsync(['logs', name], { check: false });
      return { code: waited.status === 0 ? Number(waited.stdout.trim()) : -1, logs: logs.stdout + logs.stderr };
    } finally {
      await pm.runAsync(['rm', '-f', '-t', '0', name], { check: false });
    }
  }

  beforeAll(async () => {
    const ca = testCa();
    const recipes: Record<string, string> = {
      static: join(images, 'static.yaml'),
      base: join(images, 'base.yaml'),
      python: withCa('python', ca),
      node: withCa('node', ca),
      redis: join(images, 'redis.yaml'),
      'python-dev': join(images, 'python-dev.yaml'),
      'nginx-dev': join(images, 'nginx-dev.yaml'),
    };
    // One at a time: the machine has two cores and the builds share the deb cache.
    for (const [name, recipe] of Object.entries(recipes)) built[name] = await cachedBuild(recipe);

    const { key, cert } = serverCert(ca);
    server = createHttpsServer({ key, cert }, (_req, res) => res.end(BODY));
    httpsPort = await freePort();
    await new Promise<void>((ok) => server.listen(httpsPort, '127.0.0.1', ok));

    pm = podman();
    for (const [name, b] of Object.entries(built)) {
      const out = (await pm.runAsync(['load', '-q', '-i', b.archive])).stdout;
      const ref = /Loaded image(?:\(s\))?: (\S+)/.exec(out)?.[1];
      if (ref === undefined) throw new Error(`podman load of ${name} printed no image: ${out}`);
      loaded[name] = ref;
    }
  }, 600_000);

  afterAll(async () => {
    pm?.cleanup();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    rmSync(work, { recursive: true, force: true });
  });

  const all = ['static', 'base', 'python', 'node', 'redis', 'python-dev', 'nginx-dev'];
  const runtime = all.filter((n) => !n.endsWith('-dev'));

  it.each(all)('%s: the image config runs as 65532:65532', (name) => {
    expect(pm.run(['image', 'inspect', '--format', '{{.Config.User}}', loaded[name]!]).stdout.trim()).toBe('65532:65532');
  });

  it.each(runtime)('%s: has no shell (/bin/sh cannot be started)', async (name) => {
    const r = await runToExit(loaded[name]!, ['--network', 'none', '--entrypoint', '/bin/sh'], ['-c', 'true'], 30);
    expect(r.code).not.toBe(0);
    expect(r.logs).toMatch(/no such file or directory|not found/);
  });

  it('static: runs a statically linked binary as uid 65532', async () => {
    const src = join(work, 'hello.c');
    writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("static ok uid=%d gid=%d\\n",(int)getuid(),(int)getgid());return 0;}\n');
    execFileSync('gcc', ['-static', '-O2', '-o', join(work, 'hello'), src]);
    const r = await runToExit(loaded.static!, ['--network', 'none', '-v', `${join(work, 'hello')}:/usr/local/bin/hello:ro`, '--entrypoint', '/usr/local/bin/hello']);
    expect(r.logs).toContain('static ok uid=65532 gid=65532');
    expect(r.code).toBe(0);
  });

  it('base: runs a dynamically linked glibc program that finds its user in /etc/passwd', async () => {
    const src = join(work, 'whoami.c');
    writeFileSync(src, '#include <stdio.h>\n#include <pwd.h>\n#include <unistd.h>\nint main(void){struct passwd*p=getpwuid(getuid());printf("glibc ok uid=%d user=%s home=%s\\n",(int)getuid(),p?p->pw_name:"?",p?p->pw_dir:"?");return p?0:1;}\n');
    execFileSync('gcc', ['-O2', '-o', join(work, 'whoami'), src]);
    const r = await runToExit(loaded.base!, ['--network', 'none', '-v', `${join(work, 'whoami')}:/usr/local/bin/whoami:ro`, '--entrypoint', '/usr/local/bin/whoami']);
    expect(r.logs).toContain('glibc ok uid=65532 user=nonroot home=/home/nonroot');
    expect(r.code).toBe(0);
  });

  it('python: a script makes an HTTPS request to a local server whose CA the recipe added (CA bundle + ssl module)', async () => {
    const script = join(work, 'fetch.py');
    writeFileSync(script, [
      'import os, ssl, sys, urllib.request',
      'ctx = ssl.create_default_context()',
      'with urllib.request.urlopen(sys.argv[1], context=ctx, timeout=20) as r:',
      '    print(r.read().decode(), "uid=%d" % os.getuid(), ssl.OPENSSL_VERSION)',
      '',
    ].join('\n'));
    const r = await runToExit(loaded.python!, ['--network', 'host', '-v', `${script}:/home/nonroot/fetch.py:ro`], ['/home/nonroot/fetch.py', `https://127.0.0.1:${httpsPort}/`]);
    expect(r.logs).toContain(`${BODY} uid=65532 OpenSSL 3`);
    expect(r.code).toBe(0);
  });

  it('python: without the recipe CA the same request fails verification (the CA is what makes it pass)', async () => {
    const script = join(work, 'fetch-nostore.py');
    writeFileSync(script, [
      'import ssl, sys, urllib.request',
      'ctx = ssl.create_default_context(cafile="/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt")',
      'try:',
      '    urllib.request.urlopen(sys.argv[1], context=ctx, timeout=20)',
      'except Exception as e:',
      '    print("refused", type(e).__name__, e)',
      '',
    ].join('\n'));
    const r = await runToExit(loaded.python!, ['--network', 'host', '-v', `${script}:/home/nonroot/fetch.py:ro`], ['/home/nonroot/fetch.py', `https://127.0.0.1:${httpsPort}/`]);
    expect(r.logs).toMatch(/refused .*CERTIFICATE_VERIFY_FAILED/);
  });

  it('node: a script makes an HTTPS request with the default CA store (NODE_OPTIONS=--use-openssl-ca)', async () => {
    const script = join(work, 'fetch.js');
    writeFileSync(script, [
      "const https = require('node:https');",
      'https.get(process.argv[2], (res) => {',
      "  let body = '';",
      "  res.on('data', (c) => (body += c));",
      "  res.on('end', () => console.log(body, `uid=${process.getuid()}`));",
      "}).on('error', (e) => { console.log('error', e.code, e.message); process.exit(1); });",
      '',
    ].join('\n'));
    const r = await runToExit(loaded.node!, ['--network', 'host', '-v', `${script}:/home/nonroot/fetch.js:ro`], ['/home/nonroot/fetch.js', `https://127.0.0.1:${httpsPort}/`]);
    expect(r.logs).toContain(`${BODY} uid=65532`);
    expect(r.code).toBe(0);
  });

  it('redis: redis-server answers PING over TCP and runs as 65532', async () => {
    const port = await freePort();
    const name = unique('redis');
    try {
      pm.run(['run', '-d', '--name', name, '--network', 'host', loaded.redis!, '--port', String(port), '--protected-mode', 'no']);
      let reply = '';
      for (let i = 0; i < 50 && !reply.startsWith('+PONG'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        reply = await new Promise<string>((ok) => {
          const socket = connect(port, '127.0.0.1');
          let data = '';
          const done = (): void => { socket.destroy(); ok(data); };
          socket.setTimeout(2000, done);
          socket.on('error', done);
          socket.on('connect', () => socket.write('PING\r\n'));
          socket.on('data', (d) => { data += d.toString('latin1'); if (data.includes('\r\n')) done(); });
        });
      }
      expect(reply).toBe('+PONG\r\n');
      const users = pm.run(['top', name, 'huser']).stdout.trim().split('\n').slice(1).map((l) => l.trim());
      expect(users.length).toBeGreaterThan(0);
      expect(new Set(users)).toEqual(new Set(['65532']));
    } finally {
      pm.run(['rm', '-f', '-t', '0', name], { check: false });
    }
  }, 60_000);

  it('python-dev: the dev variant has a busybox /bin/sh that runs, still as 65532', async () => {
    const r = await runToExit(loaded['python-dev']!, ['--network', 'none', '--entrypoint', '/bin/sh'], ['-c', 'echo ok $(id -u)']);
    expect(r.logs.trim()).toBe('ok 65532');
    expect(r.code).toBe(0);
  });

  it('nginx-dev: from its busybox shell, nginx starts as 65532 and serves its default page on the container loopback', async () => {
    // No host network: the container's own loopback, so nothing else on the machine can collide with port 8080.
    const script = '/usr/sbin/nginx && busybox wget -qO- http://127.0.0.1:8080/ | busybox grep -o "Welcome to nginx" | busybox head -n 1; echo "uid=$(id -u)"; busybox ps -o user,args | busybox grep "[n]ginx: "';
    const r = await runToExit(loaded['nginx-dev']!, ['--network', 'none', '--entrypoint', '/bin/sh'], ['-c', script]);
    expect(r.logs).toContain('Welcome to nginx');
    expect(r.logs).toContain('uid=65532');
    // The master and its workers, all as the image's user (ps names it from /etc/passwd).
    const procs = r.logs.split('\n').filter((l) => /nginx: (master|worker) process/.test(l));
    expect(procs.some((l) => l.includes('master'))).toBe(true);
    expect(procs.some((l) => l.includes('worker'))).toBe(true);
    expect(procs.every((l) => /^\s*(nonroot|65532)\s/.test(l))).toBe(true);
    expect(r.code).toBe(0);
  });

  it.each(all)('%s: Trivy finds exactly the resolved packages (names and versions)', async (name) => {
    const b = built[name]!;
    const key = createHash('sha256').update(readFileSync(b.archive.replace(/image\.tar$/, 'packages.json'))).update(b.recipeDigest).digest('hex').slice(0, 16);
    const trivy = debPackagesInCycloneDx(await trivyImagePackagesAsync(b.archive, `catalog-${name}-${key}`));
    const ours = b.packages.map((p) => `${p.name} ${p.version}`).sort();
    expect(trivy).toEqual(ours);
  }, 240_000);
});
