/** @module test/comply-signature — `distill comply --key`: CIS 4.5 / 4.12 decided by a cosign-style signature check against Debian docker-registry 2.8. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeComplianceReport } from '../src/compliance/comply-formats.js';
import { complyImage, type ComplianceReport } from '../src/compliance/comply.js';
import type { CheckResult } from '../src/compliance/checks.js';
import { MediaType } from '../src/oci/media-types.js';
import { pushSmallImage, pushVariant, serveSmallImage, type TestRegistry } from './helpers/registry.js';
import type { RegistryClient } from '../src/oci/registry/client.js';
import { smallImage } from './helpers/small-image.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

let dir: string;
const env = { ...process.env, DISTILL_KEY_PASSWORD: 'comply-pass' };
const cli = (args: string[]) =>
  run('node', [CLI, ...args], { env, cwd: dir, maxBuffer: 64 << 20 }).then(
    (out) => ({ code: 0, ...out }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

async function comply(args: string[]): Promise<{ code: number; report: ComplianceReport; stderr: string }> {
  const out = await cli(['comply', ...args, '--format', 'json']);
  expect(out.stdout, out.stderr).not.toBe('');
  return { code: out.code, report: JSON.parse(out.stdout) as ComplianceReport, stderr: out.stderr };
}

const check = (report: ComplianceReport, id: string): CheckResult => {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comply-sig-'));
  for (const prefix of ['cosign', 'other']) {
    const made = await cli(['generate-key-pair', '--output-key-prefix', prefix]);
    expect(made.code, made.stderr).toBe(0);
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('distill comply --key against Debian docker-registry 2.8', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  serveSmallImage('team/app:1', (served, servedClient) => {
    registry = served;
    client = servedClient;
  });

  it('a signed image and the right key: CIS 4.5 and 4.12 pass, naming the .sig tag, the payload and the key fingerprint', async () => {
    const image = `${registry.host}/team/app:1`;
    const signed = await cli(['sign', image, '--key', 'cosign.key']);
    expect(signed.code, signed.stderr).toBe(0);
    const { code, report } = await comply([image, '--key', 'cosign.pub']);
    expect(code).toBe(0);
    const digest = report.subject.digest;
    expect(signed.stdout).toContain(`@${digest}\n`);
    // The fingerprint is the SHA-256 of the DER public key, as openssl computes it.
    const der = await run('sh', ['-c', 'openssl pkey -pubin -in cosign.pub -outform DER | sha256sum'], { cwd: dir });
    const fingerprint = der.stdout.split(' ')[0]!;
    for (const id of ['CIS-4.5', 'CIS-4.12']) {
      const result = check(report, id);
      expect(result).toMatchObject({ status: 'pass', automated: true });
      expect(result.summary).toBe(`1 signature(s) verified for ${digest} under cosign.pub`);
      const sig = result.evidence[1]!;
      expect(sig.key).toBe(`${registry.host}/team/app:sha256-${digest.slice(7)}.sig`);
      expect(sig.message).toContain(`verifies under cosign.pub (key sha256:${fingerprint})`);
      // The payload digest is the digest of the .sig manifest's layer, as skopeo reads it.
      const raw = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${sig.key}`])).stdout);
      expect(sig.value).toBe(raw.layers[0].digest);
    }
    // Any of several keys may have signed: the other key rejects, cosign.pub verifies, so it passes.
    const both = await comply([image, '--key', 'other.pub', '--key', 'cosign.pub']);
    expect(check(both.report, 'CIS-4.5').status).toBe('pass');
    expect(check(both.report, 'CIS-4.5').summary).toBe(`1 signature(s) verified for ${digest} under other.pub, cosign.pub`);
    // The other checks are what comply says without --key (only 4.5 and 4.12 change).
    const plain = await comply([image]);
    const others = (r: ComplianceReport) => r.checks.filter((c) => c.id !== 'CIS-4.5' && c.id !== 'CIS-4.12');
    expect(others(report)).toEqual(others(plain.report));
    expect(check(plain.report, 'CIS-4.5')).toMatchObject({ status: 'manual', automated: false, evidence: [{ kind: 'image', value: digest }] });
  });

  it('the wrong key: fail with the reason; --fail-on fail counts it', async () => {
    const image = `${registry.host}/team/app:1`;
    const { report } = await comply([image, '--key', 'other.pub']);
    for (const id of ['CIS-4.5', 'CIS-4.12']) {
      const result = check(report, id);
      expect(result).toMatchObject({ status: 'fail', automated: true });
      expect(result.summary).toBe(`no signature verifies for ${report.subject.digest} under other.pub`);
      expect(result.evidence[1]!.message).toMatch(/^other\.pub: no valid signature .* does not verify under this public key/);
    }
    // The gate: 4.5's fail is one of the fails --fail-on counts.
    const right = await comply([image, '--key', 'cosign.pub', '--fail-on', 'fail']);
    const wrong = await comply([image, '--key', 'other.pub', '--fail-on', 'fail']);
    expect(wrong.report.counts.fail).toBe(right.report.counts.fail + 2);
    expect(wrong.code).toBe(5);
  });

  it('an unsigned image: fail, no .sig tag', async () => {
    await pushSmallImage(registry, 'team/unsigned:1');
    const { report } = await comply([`${registry.host}/team/unsigned:1`, '--key', 'cosign.pub']);
    const result = check(report, 'CIS-4.5');
    expect(result.status).toBe('fail');
    expect(result.evidence[1]!.message).toBe(
      `cosign.pub: no signature for ${registry.host}/team/unsigned@${report.subject.digest}: ${registry.host}/team/unsigned:sha256-${report.subject.digest.slice(7)}.sig does not exist`,
    );
    expect(check(report, 'CIS-4.12').status).toBe('fail');
  });

  it('the tag moves to another image and the old signature is replayed under its .sig tag: fail, digest mismatch', async () => {
    await pushSmallImage(registry, 'team/moved:1');
    const image = `${registry.host}/team/moved:1`;
    expect((await cli(['sign', image, '--key', 'cosign.key'])).code).toBe(0);
    const before = await comply([image, '--key', 'cosign.pub']);
    expect(check(before.report, 'CIS-4.5').status).toBe('pass');
    const original = before.report.subject.digest;
    const repo = { registry: registry.host, repository: 'team/moved' };
    const moved = await pushVariant(client, registry, 'team/moved', '1', 'moved');
    const afterMove = await comply([image, '--key', 'cosign.pub']);
    expect(afterMove.report.subject.digest).toBe(moved);
    expect(check(afterMove.report, 'CIS-4.5').status).toBe('fail');
    expect(check(afterMove.report, 'CIS-4.5').evidence[1]!.message).toMatch(/does not exist$/);
    const oldSig = await client.getManifest({ ...repo, tag: `sha256-${original.slice(7)}.sig` });
    await client.putManifest(repo, `sha256-${moved.slice(7)}.sig`, oldSig.data, MediaType.ociManifest);
    const replayed = await comply([image, '--key', 'cosign.pub']);
    for (const id of ['CIS-4.5', 'CIS-4.12']) {
      const result = check(replayed.report, id);
      expect(result.status).toBe('fail');
      expect(result.evidence[1]!.message).toContain(`the payload signs ${original}, but ${moved} now resolves to ${moved}`);
    }
    // The original content, named by digest, still passes.
    const byDigest = await comply([`${registry.host}/team/moved@${original}`, '--key', 'cosign.pub']);
    expect(check(byDigest.report, 'CIS-4.5').status).toBe('pass');
  });

  it('a multi-platform tag signed by its index digest (as cosign signs it): the platform manifest passes through the index', async () => {
    await pushSmallImage(registry, 'team/multi:platform');
    const repo = { registry: registry.host, repository: 'team/multi' };
    const platformManifest = await client.getManifest({ ...repo, tag: 'platform' });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: platformManifest.mediaType, digest: platformManifest.digest, size: platformManifest.size, platform: { os: 'linux', architecture: 'amd64' } }],
    }));
    const indexDigest = await client.putManifest(repo, '1', index, MediaType.ociIndex);
    const image = `${registry.host}/team/multi:1`;
    const signed = await cli(['sign', image, '--key', 'cosign.key']);
    expect(signed.stdout).toContain(`@${indexDigest}\n`);
    const { report } = await comply([image, '--key', 'cosign.pub', '--platform', 'linux/amd64']);
    expect(report.subject.digest).toBe(platformManifest.digest);
    const result = check(report, 'CIS-4.5');
    expect(result.status).toBe('pass');
    expect(result.evidence[1]!.key).toBe(`${registry.host}/team/multi:sha256-${indexDigest.slice(7)}.sig`);
    expect(result.evidence[1]!.message).toContain(`and signs the index ${indexDigest} that lists this manifest`);
    // The platform manifest named by its own digest has no .sig of its own: fail.
    const direct = await comply([`${registry.host}/team/multi@${platformManifest.digest}`, '--key', 'cosign.pub']);
    expect(check(direct.report, 'CIS-4.5').status).toBe('fail');
    expect(check(direct.report, 'CIS-4.5').evidence[1]!.message).toMatch(/does not exist$/);
  });
});

describe('distill comply --key on sources without signatures, and without --key', () => {
  it('an archive with --key: 4.5 and 4.12 stay manual and say why; the rest of the report is unchanged', async () => {
    const archive = `docker-archive:${smallImage()}`;
    const { code, report } = await comply([archive, '--key', 'cosign.pub']);
    expect(code).toBe(0);
    for (const id of ['CIS-4.5', 'CIS-4.12']) {
      const result = check(report, id);
      expect(result).toMatchObject({ status: 'manual', automated: false });
      expect(result.summary).toBe('signatures not checked: only a registry image has signatures to verify');
      expect(result.evidence).toEqual([
        { kind: 'image', message: `manifest digest ${report.subject.digest}`, value: report.subject.digest },
        { kind: 'image', message: expect.stringMatching(/^docker-archive sources carry no signatures \(cosign signatures live in the registry, in the sha256-<hex>\.sig tag\)/) },
      ]);
    }
  });

  it('without --key the CLI output is byte-identical to the library report without a signature check', async () => {
    const archive = `docker-archive:${smallImage()}`;
    const library = await complyImage(archive);
    expect(check(library, 'CIS-4.5')).toMatchObject({ status: 'manual', summary: 'content trust is a property of the pull and push, not of the image: verify the signature of this digest' });
    expect(check(library, 'CIS-4.12')).toMatchObject({ status: 'manual', summary: 'verify the signatures of this image and its attached artifacts in the pipeline' });
    for (const format of ['table', 'json', 'markdown'] as const) {
      const out = await cli(['comply', archive, '--format', format]);
      expect(out.code).toBe(0);
      expect(out.stdout).toBe(encodeComplianceReport(library, format));
    }
  });

  it('a private key or a missing file given as --key is refused (exit 3, KEY_INVALID) before anything is read', async () => {
    const archive = `docker-archive:${smallImage()}`;
    for (const key of ['cosign.key', 'missing.pub']) {
      const out = await cli(['comply', archive, '--key', key]);
      expect(out.code).toBe(3);
      expect(out.stderr).toContain('[KEY_INVALID]');
      expect(out.stdout).toBe('');
    }
  });
});
