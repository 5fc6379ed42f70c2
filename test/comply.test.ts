/** @module test/comply — `distill comply` on a deliberately bad image, on stock nginx and on distill's own catalog images; the CLI end to end. */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeComplianceReport } from '../src/compliance/comply-formats.js';
import { complyImage, gateFails, type ComplianceReport } from '../src/compliance/comply.js';
import type { CheckResult } from '../src/compliance/checks.js';
import { parseDockerfile } from '../src/compliance/dockerfile.js';
import { redact } from '../src/compliance/secret-rules.js';
import { badImage, layeredArchive, type BadImage } from './helpers/bad-image.js';
import { DistillError } from '../src/errors.js';
import { cachedBuild } from './helpers/build-helpers.js';
import { stockImage } from './helpers/oracles.js';

const repoRoot = resolve(import.meta.dirname, '..');
const fixtures = join(repoRoot, 'test', 'fixtures', 'compliance');
const run = promisify(execFile);

let bad: BadImage;
let badReport: ComplianceReport;
let stockReport: ComplianceReport;
let stockArchive: string;
let dir: string;

const check = (report: ComplianceReport, id: string): CheckResult => {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comply-'));
  bad = await badImage();
  stockArchive = stockImage('nginx');
  const dockerfile = parseDockerfile(readFileSync(join(fixtures, 'Dockerfile.bad')), 'Dockerfile.bad');
  badReport = await complyImage(`docker-archive:${bad.archive}`, { dockerfile, frameworks: ['cis-docker-1.6', 'nist-800-190', 'nist-800-53'] });
  stockReport = await complyImage(`docker-archive:${stockArchive}`);
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the deliberately bad image', () => {
  it('runs as root (CIS 4.1) and has no HEALTHCHECK (CIS 4.6)', () => {
    expect(check(badReport, 'CIS-4.1')).toMatchObject({ status: 'fail', evidence: [{ kind: 'config', key: 'config.User', value: '' }] });
    expect(check(badReport, 'CIS-4.6')).toMatchObject({ status: 'fail', evidence: [{ kind: 'config', key: 'config.Healthcheck' }] });
  });

  it('names the planted setuid binary with the layer that added it (CIS 4.8)', () => {
    const setuid = check(badReport, 'CIS-4.8');
    expect(setuid.status).toBe('fail');
    const planted = setuid.evidence.find((e) => e.path === bad.paths.setuid)!;
    expect(planted.value).toBe('4755');
    expect(planted.layer).toEqual(badReport.subject.layers[1]);
  });

  it('finds the deleted private key and AWS keys, naming the layer that added and the layer that deleted them (CIS 4.10)', () => {
    const secrets = check(badReport, 'CIS-4.10');
    expect(secrets.status).toBe('fail');
    const [, added, deleted] = badReport.subject.layers;
    const inFile = (rule: string) => secrets.evidence.find((e) => e.kind === 'file' && e.rule === rule)!;
    expect(inFile('private-key')).toMatchObject({ path: bad.paths.privateKey, line: 1, layer: added, removedIn: { ...deleted, how: 'whiteout' } });
    expect(inFile('aws-access-key-id')).toMatchObject({ path: bad.paths.awsCredentials, line: 2, value: redact(bad.secrets.awsAccessKeyId), layer: added, removedIn: { ...deleted, how: 'whiteout' } });
    expect(inFile('aws-secret-access-key')).toMatchObject({ path: bad.paths.awsCredentials, line: 3, value: redact(bad.secrets.awsSecretAccessKey), removedIn: { index: 2 } });
    expect(inFile('private-key').message).toContain(`deleted by layer 2 (${deleted!.digest})`);
    // Environment, label and Dockerfile secrets too; no secret is ever printed in full.
    expect(secrets.evidence.find((e) => e.key?.startsWith('config.Env['))).toMatchObject({ rule: 'password-assignment', value: `DB_PASSWORD=${redact(bad.secrets.dbPassword)}` });
    expect(secrets.evidence.find((e) => e.key === 'config.Labels["ci.token"]')).toMatchObject({ rule: 'github-token', value: redact(bad.secrets.githubToken) });
    expect(secrets.evidence.filter((e) => e.kind === 'dockerfile').map((e) => [e.line, e.rule])).toEqual([[3, 'gitlab-token'], [4, 'password-assignment']]);
    const json = encodeComplianceReport(badReport, 'json');
    for (const value of Object.values(bad.secrets)) expect(json.includes(value.trim().split('\n')[1] ?? value)).toBe(false);
  });

  it('finds curl and bash as installed packages with their files (CIS 4.3), a shell and a package manager', () => {
    const packages = check(badReport, 'CIS-4.3');
    expect(packages.status).toBe('fail');
    for (const [name, path] of [['curl', '/usr/bin/curl'], ['bash', '/usr/bin/bash']]) {
      expect(packages.evidence.find((e) => e.package?.name === name)).toMatchObject({ kind: 'package', path, package: { type: 'deb' }, layer: badReport.subject.layers[0] });
    }
    expect(check(badReport, 'IMG-SHELL').status).toBe('fail');
    expect(check(badReport, 'IMG-PACKAGE-MANAGER').status).toBe('fail');
    expect(check(badReport, 'IMG-CREDENTIAL-FILES').evidence.map((e) => e.path).sort()).toEqual([bad.paths.awsCredentials, bad.paths.privateKey]);
  });

  it('fails the Dockerfile checks at the right lines (CIS 4.7, 4.9, 4.11)', () => {
    expect(check(badReport, 'CIS-4.7')).toMatchObject({ status: 'fail', evidence: [{ kind: 'dockerfile', file: 'Dockerfile.bad', line: 5 }] });
    expect(check(badReport, 'CIS-4.9')).toMatchObject({ status: 'fail', evidence: [{ kind: 'dockerfile', line: 7 }] });
    expect(check(badReport, 'CIS-4.11').evidence.map((e) => e.line)).toEqual([6, 9]);
    expect(check(badReport, 'CIS-4.11').status).toBe('fail');
    expect(check(badReport, 'CIS-4.2').evidence.find((e) => e.kind === 'dockerfile')!.message).toContain('not pinned by digest');
  });

  it('groups the results per framework and trips the gate', () => {
    const [cis, nist190, nist53] = badReport.frameworks;
    expect(cis!.groups.map((g) => [g.id, g.status])).toEqual([['CIS-4', 'fail'], ['IMG', 'fail']]);
    expect(nist190!.groups.map((g) => g.id)).toEqual(['4.1.1', '4.1.2', '4.1.3', '4.1.4', '4.1.5']);
    expect(nist190!.groups.find((g) => g.id === '4.1.4')).toMatchObject({ status: 'fail', checks: ['CIS-4.10', 'IMG-CREDENTIAL-FILES'] });
    expect(nist53!.groups.find((g) => g.id === 'IA-5')!.status).toBe('fail');
    expect(nist53!.groups.find((g) => g.id === 'AC-6')!.checks).toEqual(['CIS-4.1', 'CIS-4.8', 'IMG-SUDO']);
    expect(gateFails(badReport, 'fail')).toBe(true);
    for (const c of badReport.checks) {
      expect(c.nist800190.length, c.id).toBeGreaterThan(0);
      expect(c.nist80053.length, c.id).toBeGreaterThan(0);
    }
  });

  it('renders a self-contained printable HTML page and Markdown', () => {
    const html = encodeComplianceReport(badReport, 'html');
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/i);
    expect(html).toContain('@media print');
    expect(html).toContain(bad.paths.privateKey);
    const md = encodeComplianceReport(badReport, 'markdown');
    expect(md).toContain('| FAIL | CIS-4.10 | automated |');
    expect(md).toContain('## NIST SP 800-190, section 4.1 image countermeasures');
  });
});

describe('how later layers hide secrets, and what is not searched', () => {
  const token = 'glpat-Zr8uY2wQ5eT7iO9pA1sD';
  const key = readFileSync(join(fixtures, 'secrets', 'positive', 'private-key.ec.pem'), 'utf8');
  const roots = () => {
    const base = join(dir, 'hide');
    rmSync(base, { recursive: true, force: true });
    const put = (path: string, content: string | Buffer) => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, content);
    };
    put(join(base, 'l0/etc/app/key.pem'), key);
    put(join(base, 'l0/srv/data/token.txt'), `token: ${token}\n`);
    put(join(base, 'l0/opt/big.txt'), `${token}\n${'x'.repeat(2 * 1024 * 1024)}`);
    put(join(base, 'l0/opt/blob.bin'), Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), Buffer.from(`${token}\n`)]));
    put(join(base, 'l1/etc/app/key.pem'), 'rotated: the key lives in a secret store now\n');
    put(join(base, 'l1/srv/data/.wh..wh..opq'), '');
    return [join(base, 'l0'), join(base, 'l1')];
  };

  it('names replaced files and opaque directories as the removing layer, and skips large and binary files', async () => {
    const archive = await layeredArchive(join(dir, 'hide.tar'), roots(), { config: { User: '65532' } });
    const report = await complyImage(`docker-archive:${archive}`);
    const [, second] = report.subject.layers;
    const files = check(report, 'CIS-4.10').evidence.filter((e) => e.kind === 'file').map((e) => [e.path, e.rule, e.layer?.index, e.removedIn]);
    expect(files).toEqual([
      ['/etc/app/key.pem', 'private-key', 0, { ...second, how: 'replaced' }],
      ['/srv/data/token.txt', 'gitlab-token', 0, { ...second, how: 'opaque-directory' }],
    ]);
    expect(report.secretScan.skippedLarge).toBe(1);
    expect(report.secretScan.skippedBinary).toBe(1);
    // Tagged layered/test:1.0: a versioned tag passes the latest-tag check; uid 65532 passes 4.1 without /etc/passwd.
    expect(check(report, 'IMG-LATEST-TAG').status).toBe('pass');
    expect(check(report, 'CIS-4.1').status).toBe('pass');
  });

  it('fails with the layer integrity error instead of hanging when a layer does not match its diffId', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const archive = await layeredArchive(join(dir, 'corrupt.tar'), roots(), {}, { diffIds: [wrong, wrong] });
    const error = await complyImage(`docker-archive:${archive}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DistillError);
    expect((error as DistillError).code).toBe('DIGEST_MISMATCH');
  });
});

describe('stock nginx', () => {
  it('fails on root, shell, package manager, unneeded packages and setuid files', () => {
    const failed = stockReport.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    expect(failed).toEqual(['CIS-4.1', 'CIS-4.3', 'CIS-4.6', 'CIS-4.8', 'IMG-SHELL', 'IMG-PACKAGE-MANAGER']);
    expect(check(stockReport, 'CIS-4.10').status).toBe('pass');
  });

  it('lists exactly the setuid/setgid files GNU tar shows in the layer', async () => {
    const manifest = JSON.parse(spawnSync('tar', ['-xOf', stockArchive, 'manifest.json'], { encoding: 'utf8' }).stdout) as { Layers: string[] }[];
    const listing = await run('sh', ['-c', `tar -xOf "$0" "$1" | tar -tvf -`, stockArchive, manifest[0]!.Layers[0]!], { maxBuffer: 1 << 26 });
    const oracle = listing.stdout.split('\n').filter((line) => /^-..[sS]|^-.....[sS]/.test(line)).map((line) => `/${line.split(/\s+/).slice(5).join(' ').replace(/^\.\//, '')}`).sort();
    expect(oracle.length).toBeGreaterThan(5);
    expect(check(stockReport, 'CIS-4.8').evidence.map((e) => e.path).sort()).toEqual(oracle);
  });
});

describe("distill's catalog images", () => {
  // HEALTHCHECK cannot pass: a shell-less image has no probe program to run, and the orchestrator's probes do this job.
  const CANNOT_PASS = ['CIS-4.6'];
  it.each(['images/nginx.yaml', 'images/python.yaml', 'images/redis.yaml', 'images/static.yaml'])('%s passes every automated check a minimal image can pass', async (recipe) => {
    const { archive } = await cachedBuild(recipe);
    const report = await complyImage(`docker-archive:${archive}`, { frameworks: ['nist-800-53'] });
    const automated = report.checks.filter((c) => c.automated);
    expect(automated.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(CANNOT_PASS);
    // Only the tag warning remains (the test archive is tagged :latest); the Dockerfile checks are n/a without one.
    expect(automated.filter((c) => c.status === 'warn').map((c) => c.id)).toEqual(['IMG-LATEST-TAG']);
    expect(automated.filter((c) => c.status === 'not-applicable').map((c) => c.id)).toEqual(['CIS-4.7', 'CIS-4.9']);
    for (const id of ['CIS-4.1', 'CIS-4.3', 'CIS-4.8', 'CIS-4.10', 'IMG-SHELL', 'IMG-PACKAGE-MANAGER']) expect(check(report, id).status).toBe('pass');
    expect(report.frameworks[0]!.framework).toBe('nist-800-53');
  }, 600_000);
});

/** Runs a command without blocking the worker's event loop (a long synchronous spawn starves vitest's RPC). */
function spawnAsync(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

describe('distill comply (built CLI)', () => {
  it('writes JSON, exits 5 on the gate, 2 on an unknown framework, 3 on a bad Dockerfile', async () => {
    // dist/ is built once by test/global-setup.ts before the workers start.
    const cli = join(repoRoot, 'dist', 'cli', 'main.js');
    const out = join(dir, 'bad.json');
    const gated = await spawnAsync('node', [cli, 'comply', `docker-archive:${bad.archive}`, '--format', 'json', '--framework', 'nist-800-190', '--fail-on', 'fail', '-o', out]);
    expect(gated.status, gated.stderr).toBe(5);
    const report = JSON.parse(readFileSync(out, 'utf8')) as ComplianceReport;
    expect(report.frameworks.map((f) => f.framework)).toEqual(['nist-800-190']);
    expect(report.checks.find((c) => c.id === 'CIS-4.10')!.evidence.some((e) => e.removedIn?.index === 2)).toBe(true);
    const unknown = await spawnAsync('node', [cli, 'comply', `docker-archive:${bad.archive}`, '--framework', 'pci-dss']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('[FRAMEWORK_UNKNOWN]');
    const dockerfile = join(dir, 'Dockerfile');
    writeFileSync(dockerfile, 'FROM x\nRUN echo \\\n');
    const invalid = await spawnAsync('node', [cli, 'comply', `docker-archive:${bad.archive}`, '--dockerfile', dockerfile]);
    expect(invalid.status, invalid.stderr).toBe(3);
    expect(invalid.stderr).toMatch(/Dockerfile:2: line continuation.*\[DOCKERFILE_INVALID\]/);
    const table = await spawnAsync('node', [cli, 'comply', `docker-archive:${stockArchive}`]);
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('FAIL   CIS-4.1 ');
  }, 300_000);
});
