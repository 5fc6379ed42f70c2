import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isDistillError } from '../src/errors.js';
import { attachArtifact, fetchArtifact, fetchArtifactsOfKind, listArtifacts } from '../src/oci/artifacts/attach.js';
import { parseArtifactManifest } from '../src/oci/artifacts/artifact-manifest.js';
import { buildSlsaProvenance } from '../src/oci/artifacts/provenance.js';
import { parseReferrersIndex, referrersTag } from '../src/oci/artifacts/referrers-index.js';
import { digestOf } from '../src/oci/digest.js';
import { MediaType } from '../src/oci/media-types.js';
import type { RegistryClient } from '../src/oci/registry/client.js';
import { pushSmallImage, pushVariant, serveSmallImage, type TestRegistry } from './helpers/registry.js';
import { stockImage } from './helpers/oracles.js';
import { smallImage } from './helpers/small-image.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

let registry: TestRegistry;
let client: RegistryClient;
const repo = () => ({ registry: registry.host, repository: 'team/app' });

const sbom = Buffer.from(
  JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components: [{ type: 'library', name: 'base-files', version: '12.4+deb12u5', purl: 'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64' }] }),
);
const vex = Buffer.from(
  JSON.stringify({
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': 'https://example.test/vex/1',
    author: 'distill tests',
    timestamp: '2026-01-01T00:00:00Z',
    version: 1,
    statements: [{ vulnerability: { name: 'CVE-2023-0001' }, products: [{ '@id': 'pkg:deb/debian/base-files' }], status: 'not_affected', justification: 'vulnerable_code_not_present' }],
  }),
);

serveSmallImage('team/app:1.0', (served, servedClient) => {
  registry = served;
  client = servedClient;
});

describe('artifacts on Debian docker-registry 2.8 (no referrers API: tag fallback)', () => {
  it('the registry really lacks the referrers API', async () => {
    const image = await client.getManifest({ ...repo(), tag: '1.0' });
    expect(await client.referrers(repo(), image.digest)).toBeUndefined();
  });

  it('attaches SBOM, VEX and provenance with subject = the image manifest, lists and fetches them back', async () => {
    const image = await client.getManifest({ ...repo(), tag: '1.0' });
    const provenance = Buffer.from(
      buildSlsaProvenance({
        subject: { name: `${registry.host}/team/app`, digest: image.digest },
        externalParameters: { recipe: 'images/base.yaml' },
        resolvedDependencies: [{ uri: 'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64', digest: { sha256: 'a'.repeat(64) } }],
        builderId: 'https://github.com/distill/distill/cli@0.1.0',
        startedOn: new Date('2026-01-01T00:00:00Z'),
        finishedOn: new Date('2026-01-01T00:01:00Z'),
      }),
    );
    const created = new Date('2026-02-03T04:05:06Z');
    const results = [];
    for (const [kind, document, title] of [['sbom', sbom, 'app.cdx.json'], ['vex', vex, 'app.openvex.json'], ['provenance', provenance, 'app.intoto.json']] as const) {
      results.push(await attachArtifact(client, { ...repo(), tag: '1.0' }, { kind, document, title, created }));
    }
    for (const result of results) {
      expect(result.subject).toEqual({ mediaType: image.mediaType, digest: image.digest, size: image.size });
      expect(result.discovery).toBe('tag-fallback');
      expect(result.fallbackTag).toBe(referrersTag(image.digest));
      expect(result.form).toBe('artifactType');
    }
    expect(results.map((result) => result.artifact.artifactType)).toEqual(['application/vnd.cyclonedx+json', 'application/openvex+json', 'application/vnd.in-toto+json']);

    // The artifact manifest as stored: OCI 1.1 artifactType, empty config, one layer, subject.
    const stored = await client.getManifest({ ...repo(), digest: results[0]!.artifact.digest });
    const raw = JSON.parse(stored.data.toString());
    expect(raw.artifactType).toBe('application/vnd.cyclonedx+json');
    expect(raw.config).toEqual({ mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf('{}'), size: 2 });
    expect(raw.subject).toEqual({ mediaType: image.mediaType, digest: image.digest, size: image.size });
    expect(parseArtifactManifest(stored.data).layers).toEqual([{ mediaType: 'application/vnd.cyclonedx+json', digest: digestOf(sbom), size: sbom.length, annotations: { 'org.opencontainers.image.title': 'app.cdx.json' } }]);

    // The fallback index under sha256-<hex>, as the OCI distribution spec's referrers tag schema lays out.
    const index = await client.getManifest({ ...repo(), tag: referrersTag(image.digest) });
    expect(index.mediaType).toBe(MediaType.ociIndex);
    expect(parseReferrersIndex(index.data).map((entry) => entry.digest)).toEqual(results.map((result) => result.artifact.digest));

    const listing = await listArtifacts(client, { ...repo(), tag: '1.0' });
    expect(listing.discovery).toBe('tag-fallback');
    expect(listing.artifacts.map((entry) => [entry.kind, entry.title, entry.created])).toEqual([
      ['sbom', 'app.cdx.json', '2026-02-03T04:05:06Z'],
      ['vex', 'app.openvex.json', '2026-02-03T04:05:06Z'],
      ['provenance', 'app.intoto.json', '2026-02-03T04:05:06Z'],
    ]);
    for (const [i, document] of [sbom, vex, provenance].entries()) {
      const fetched = await fetchArtifact(client, { ...repo(), tag: '1.0' }, listing.subject, listing.artifacts[i]!);
      expect(fetched.document.equals(document)).toBe(true);
    }
    const vexOnly = await fetchArtifactsOfKind(client, { ...repo(), digest: image.digest }, 'vex');
    expect(vexOnly.documents.map((item) => item.document.toString())).toEqual([vex.toString()]);

    // skopeo (an independent client) sees the artifact manifest and the fallback index as ordinary tags/digests.
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/team/app:${referrersTag(image.digest)}`]);
    expect(JSON.parse(stdout).manifests).toHaveLength(3);
  });

  it('attaching the same document again does not duplicate the index entry; the config form also round-trips', async () => {
    const other = 'team/again';
    await pushSmallImage(registry, `${other}:1`);
    const location = { registry: registry.host, repository: other, tag: '1' };
    const first = await attachArtifact(client, location, { kind: 'sbom', document: sbom, created: new Date(0) });
    const second = await attachArtifact(client, location, { kind: 'sbom', document: sbom, created: new Date(0) });
    expect(second.artifact.digest).toBe(first.artifact.digest);
    const config = await attachArtifact(client, location, { kind: 'vex', document: vex, form: 'config' });
    const raw = JSON.parse((await client.getManifest({ ...location, tag: undefined, digest: config.artifact.digest })).data.toString());
    expect(raw.artifactType).toBeUndefined();
    expect(raw.config.mediaType).toBe('application/openvex+json');
    const listing = await listArtifacts(client, location);
    expect(listing.artifacts.map((entry) => entry.kind)).toEqual(['sbom', 'vex']);
  });

  it('refuses documents that are not what their kind says, and artifacts whose subject is another image', async () => {
    const location = { ...repo(), tag: '1.0' };
    for (const [kind, text, code] of [['sbom', '{"hello":1}', 'SBOM_INVALID'], ['vex', JSON.stringify({ bomFormat: 'CycloneDX' }), 'VEX_INVALID'], ['provenance', '{"_type":"x"}', 'SOURCE_UNRECOGNIZED'], ['sbom', 'not json', 'SBOM_INVALID']] as const) {
      await expect(attachArtifact(client, location, { kind, document: Buffer.from(text) })).rejects.toSatisfy((error: unknown) => isDistillError(error, code));
    }
    // A hostile index entry pointing at an artifact of another image is refused on fetch.
    await pushSmallImage(registry, 'team/other:1');
    await pushVariant(client, registry, 'team/other', '1', 'other');
    const foreign = await attachArtifact(client, { registry: registry.host, repository: 'team/other', tag: '1' }, { kind: 'sbom', document: sbom });
    const listing = await listArtifacts(client, location);
    const entry = { ...listing.artifacts[0]!, digest: foreign.artifact.digest };
    // The foreign artifact lives in another repository: copy its manifest in, as an attacker with push rights could.
    const manifest = await client.getManifest({ registry: registry.host, repository: 'team/other', digest: foreign.artifact.digest });
    for (const layer of [...JSON.parse(manifest.data.toString()).layers, JSON.parse(manifest.data.toString()).config]) {
      const data = await client.readBlob({ registry: registry.host, repository: 'team/other' }, layer, 1 << 20);
      await client.pushBlob(repo(), layer, data);
    }
    await client.putManifest(repo(), foreign.artifact.digest, manifest.data, MediaType.ociManifest);
    await expect(fetchArtifact(client, location, listing.subject, entry)).rejects.toThrow(/refers to sha256:.*not to/);
  });

  it('an image without artifacts lists none; a missing image is a clear error', async () => {
    await pushSmallImage(registry, 'team/bare:1');
    const listing = await listArtifacts(client, { registry: registry.host, repository: 'team/bare', tag: '1' });
    expect(listing.artifacts).toEqual([]);
    await expect(listArtifacts(client, { registry: registry.host, repository: 'team/bare', tag: 'nope' })).rejects.toSatisfy((error: unknown) => isDistillError(error, 'TAG_NOT_FOUND'));
  });
});

describe('distill attach (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distill-attach-cli-'));
  const cli = (args: string[]) => run('node', [CLI, ...args], { env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' } }).then(
    (out) => ({ code: 0, ...out }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

  it('attach sbom|vex, list (table and JSON), fetch by kind; a missing kind exits 3', async () => {
    await pushSmallImage(registry, 'cli/app:1');
    const image = `${registry.host}/cli/app:1`;
    writeFileSync(join(dir, 'app.cdx.json'), sbom);
    writeFileSync(join(dir, 'app.openvex.json'), vex);
    const attached = await cli(['attach', 'sbom', image, join(dir, 'app.cdx.json')]);
    expect(attached.stderr).toBe('');
    expect(attached.code).toBe(0);
    expect(attached.stdout).toMatch(/^attached sbom \(CycloneDX 1\.5\) to 127\.0\.0\.1:\d+\/cli\/app@sha256:[0-9a-f]{64}\n {2}artifact sha256:[0-9a-f]{64} \(application\/vnd\.cyclonedx\+json\)\n {2}listed in the fallback tag .*:sha256-[0-9a-f]{64} \(no referrers API\)\n$/);
    expect((await cli(['attach', 'vex', image, join(dir, 'app.openvex.json'), '--format', 'json'])).code).toBe(0);
    const table = await cli(['attach', 'list', image]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/found via tag-fallback\nKIND +ARTIFACT TYPE +DIGEST +CREATED +TITLE\nsbom +application\/vnd\.cyclonedx\+json +sha256:[0-9a-f]{12} +2026-01-01T00:00:00Z +app\.cdx\.json\nvex +application\/openvex\+json/);
    const listed = await cli(['attach', 'list', image, '--format', 'json', '--type', 'vex']);
    expect(listed.code, listed.stderr).toBe(0);
    const json = JSON.parse(listed.stdout);
    expect(json.artifacts.map((entry: { kind: string }) => entry.kind)).toEqual(['vex']);
    const out = join(dir, 'fetched.json');
    expect((await cli(['attach', 'fetch', image, '--type', 'sbom', '-o', out])).code).toBe(0);
    expect(readFileSync(out).equals(sbom)).toBe(true);
    const missing = await cli(['attach', 'fetch', image, '--type', 'provenance']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no provenance attached .*\[ARTIFACT_NOT_FOUND\]/);
    const bad = await cli(['attach', 'sbom', image, join(dir, 'app.openvex.json')]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('[SBOM_INVALID]');
    const local = await cli(['attach', 'list', `oci:${dir}`]);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('[BAD_REFERENCE]');
  });
});

describe('distill attach provenance --generate (CLI)', () => {
  it('writes a SLSA provenance v1 statement for the image from its recipe and lockfile, attaches it, fetches it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'distill-provenance-'));
    const root = join(import.meta.dirname, '..');
    const cli = (args: string[]) => run('node', [CLI, ...args], { cwd: root, env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' }, maxBuffer: 1 << 26 }).then(
      (out) => ({ code: 0, ...out }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
    const lockfile = join(dir, 'base.lock.json');
    // The lock comes from a real resolution against the Debian archive (the oracle for the dependency list).
    const locked = await cli(['lock', 'images/base.yaml', '--lockfile', lockfile, '-q']);
    expect(locked.code, locked.stderr).toBe(0);
    await pushSmallImage(registry, 'prov/base:1');
    const image = `${registry.host}/prov/base:1`;
    const missingLock = await cli(['attach', 'provenance', image, '--generate', '--recipe', 'images/base.yaml', '--lockfile', join(dir, 'none.json')]);
    expect(missingLock.code).toBe(3);
    const attached = await cli(['attach', 'provenance', image, '--generate', '--recipe', 'images/base.yaml', '--lockfile', lockfile]);
    expect(attached.code, attached.stderr).toBe(0);
    expect(attached.stdout).toContain('attached provenance (in-toto (https://slsa.dev/provenance/v1))');
    const fetched = await cli(['attach', 'fetch', image, '--type', 'provenance']);
    const statement = JSON.parse(fetched.stdout);
    const digest = (await client.getManifest({ registry: registry.host, repository: 'prov/base', tag: '1' })).digest;
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(statement.subject).toEqual([{ name: `${registry.host}/prov/base`, digest: { sha256: digest.slice(7) } }]);
    expect(statement.predicate.runDetails.metadata.finishedOn).toBe('2026-01-01T00:00:00Z');
    const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { archs: Record<string, { sha256: string; filename: string }[]> };
    const deps = statement.predicate.buildDefinition.resolvedDependencies as { uri: string; digest: { sha256: string } }[];
    expect(deps[0]).toEqual({ uri: 'file:images/base.yaml', digest: { sha256: digestOf(readFileSync(join(root, 'images/base.yaml'))).slice(7) } });
    const expected = new Set(Object.values(lock.archs).flat().map((item) => item.sha256));
    expect(new Set(deps.slice(1).map((dep) => dep.digest.sha256))).toEqual(expected);
    expect(deps.slice(1).every((dep) => /^https?:\/\/.+\/pool\/.+\.deb$/.test(dep.uri))).toBe(true);
  }, 120_000);
});

describe('distill scan REF --vex attached', () => {
  it('fetches the VEX attached to the registry image and suppresses what it says is not affected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'distill-vex-attached-'));
    const cli = (args: string[]) => run('node', [CLI, ...args], { env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' }, maxBuffer: 1 << 26 }).then(
      (out) => ({ code: 0, ...out }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
    // The real stock nginx image (bookworm-slim + nginx, 118 packages) pushed to the registry with skopeo.
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `docker-archive:${stockImage('nginx')}`, `docker://${registry.host}/stock/nginx:1`]);
    const image = `${registry.host}/stock/nginx:1`;
    // CONSTRUCTED tracker record around a REAL curl CVE id (as in test/compare.test.ts): fixed just above the
    // stock image's curl, so the scan finds it in curl and libcurl4.
    mkdirSync(join(dir, 'feeds'));
    const fixed = '7.88.1-10+deb12u16';
    writeFileSync(join(dir, 'feeds', 'debian-tracker.json'), JSON.stringify({ curl: { 'CVE-2023-38545': { releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency: 'high' } } } } }));
    const db = join(dir, 'vuln.db');
    const imported = await cli(['db', 'import', join(dir, 'feeds'), '--db', db]);
    expect(imported.code, imported.stderr).toBe(0);

    const ids = (stdout: string, key: 'findings' | 'suppressed') => (JSON.parse(stdout)[key] as { vulnId: string; packageName: string }[]).map((item) => `${item.vulnId} ${item.packageName}`).sort();
    const before = await cli(['scan', image, '--db', db, '--format', 'json', '--quiet']);
    expect(before.code, before.stderr).toBe(0);
    expect(ids(before.stdout, 'findings')).toEqual(['CVE-2023-38545 curl', 'CVE-2023-38545 libcurl4']);

    // Nothing attached yet: --vex attached applies no statement.
    const none = await cli(['scan', image, '--db', db, '--format', 'json', '--quiet', '--vex', 'attached']);
    expect(ids(none.stdout, 'findings')).toEqual(['CVE-2023-38545 curl', 'CVE-2023-38545 libcurl4']);

    const statement = {
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.test/vex/nginx-curl',
      author: 'distill tests',
      timestamp: '2026-01-01T00:00:00Z',
      version: 1,
      statements: [{ vulnerability: { name: 'CVE-2023-38545' }, products: [{ '@id': 'pkg:deb/debian/curl' }, { '@id': 'pkg:deb/debian/libcurl4' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' }],
    };
    writeFileSync(join(dir, 'nginx.openvex.json'), JSON.stringify(statement));
    expect((await cli(['attach', 'vex', image, join(dir, 'nginx.openvex.json')])).code).toBe(0);
    const after = await cli(['scan', image, '--db', db, '--format', 'json', '--quiet', '--vex', 'attached']);
    expect(after.code, after.stderr).toBe(0);
    expect(ids(after.stdout, 'findings')).toEqual([]);
    expect(ids(after.stdout, 'suppressed')).toEqual(['CVE-2023-38545 curl', 'CVE-2023-38545 libcurl4']);

    const local = await cli(['scan', `docker-archive:${smallImage()}`, '--db', db, '--quiet', '--vex', 'attached']);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('[BAD_REFERENCE]');
  }, 300_000);
});
