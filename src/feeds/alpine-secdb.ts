/** @module feeds/alpine-secdb — Alpine secdb JSON (secdb.alpinelinux.org/v3.x/{main,community}.json) → fixed-in rules per origin package. */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DistillError } from '../errors.js';
import { apkScheme } from '../versions/apk.js';
import type { AffectedRecord } from '../vuln/vulnerability.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import {
  BatchWriter,
  IssueCollector,
  MiB,
  SkipCounter,
  beginImport,
  finishImport,
  isRecord,
  parseJsonBounded,
  readFeedBytes,
  sizeOptions,
  type FeedImportOptions,
  type FeedImportResult,
  type FeedInput,
} from './feed-input.js';

export const ALPINE_SECDB_URL = 'https://secdb.alpinelinux.org/';

/** One secfixes id token: CVE-…, GHSA-…, XSA-…, ALPINE-…; the secdb sometimes puts several ids, or a remark, in one string. */
const ID = /^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * Imports one secdb document, or a directory of them (e.g. main.json and community.json of several releases).
 * Namespace `alpine:<X.Y>` from `distroversion` `vX.Y`; packageName = the origin package (`pkg.name`); each
 * `secfixes` version V gives a fixed rule [introduced 0, fixed V]; the `0` key lists ids that never affected the
 * package (skipped and counted). Alpine gives no severity, so none is stored.
 */
export async function importAlpineSecdb(input: FeedInput, writer: VulnStoreWriter, options: FeedImportOptions): Promise<FeedImportResult> {
  const issues = new IssueCollector('alpine-secdb');
  const skipped = new SkipCounter();
  const affected = new BatchWriter<AffectedRecord>((batch) => writer.putAffected(batch));
  beginImport(writer, 'alpine-secdb', options);

  let digest: string;
  const info = typeof input === 'string' ? await stat(input).catch(() => undefined) : undefined;
  if (typeof input === 'string' && info === undefined) throw new DistillError('FILE_NOT_FOUND', `cannot read the Alpine secdb at ${input}`, { subject: input });
  if (typeof input === 'string' && info?.isDirectory() === true) {
    const names = (await readdir(input)).filter((n) => n.endsWith('.json') || n.endsWith('.json.gz')).sort();
    const lines: string[] = [];
    for (const name of names) {
      const path = join(input, name);
      const read = await readFeedBytes(path, { subject: path, ...sizeOptions(options) });
      lines.push(`${name}\0${read.digest}`);
      importDocument(parseJsonBounded(read.bytes, { subject: path, maxBytes: 256 * MiB }), path, affected, issues, skipped);
    }
    digest = `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
  } else {
    const subject = typeof input === 'string' ? input : options.origin;
    const read = await readFeedBytes(input, { subject, ...sizeOptions(options) });
    digest = read.digest;
    importDocument(parseJsonBounded(read.bytes, { subject, maxBytes: 256 * MiB }), subject, affected, issues, skipped);
  }
  affected.flush();
  return finishImport(writer, options, {
    feed: 'alpine-secdb',
    records: affected.count,
    vulnerabilities: 0,
    digest,
    skipped: skipped.counts,
    issues: issues.list(),
  });
}

function importDocument(doc: unknown, where: string, out: BatchWriter<AffectedRecord>, issues: IssueCollector, skipped: SkipCounter): void {
  const invalid = (message: string): DistillError =>
    new DistillError('FEED_INVALID', `${where}: not an Alpine secdb document: ${message}`, { subject: where, hint: 'give a secdb file such as v3.20/main.json' });
  if (!isRecord(doc)) throw invalid('expected an object');
  const release = typeof doc['distroversion'] === 'string' ? /^v(\d+\.\d+)$/.exec(doc['distroversion']) : null;
  if (release === null) throw invalid(`distroversion ${JSON.stringify(doc['distroversion'])} is not vX.Y`);
  if (!Array.isArray(doc['packages'])) throw invalid('packages is not a list');
  const namespace = `alpine:${release[1]}`;

  for (const item of doc['packages'] as unknown[]) {
    const pkg = isRecord(item) ? item['pkg'] : undefined;
    const name = isRecord(pkg) ? pkg['name'] : undefined;
    if (!isRecord(pkg) || typeof name !== 'string' || !PACKAGE_NAME.test(name)) {
      issues.add('FIELD_MISSING', 'package entry without a valid pkg.name', where);
      skipped.add('invalidPackage');
      continue;
    }
    const secfixes = pkg['secfixes'];
    if (secfixes === undefined) continue;
    if (!isRecord(secfixes)) {
      issues.add('PARSE_FAILED', `${name}: secfixes is not an object`, where);
      skipped.add('invalidPackage');
      continue;
    }
    for (const [version, ids] of Object.entries(secfixes)) {
      if (!Array.isArray(ids)) {
        issues.add('PARSE_FAILED', `${name} ${version}: the fix list is not a list`, where);
        skipped.add('invalidEntry');
        continue;
      }
      const tokens = ids.flatMap((entry) => (typeof entry === 'string' ? entry.split(/\s+/) : [])).filter((t) => ID.test(t));
      if (version === '0') {
        skipped.add('notAffected', tokens.length);
        continue;
      }
      if (!apkScheme.isValid(version)) {
        issues.add('PARSE_FAILED', `${name}: ${JSON.stringify(version.slice(0, 100))} is not a valid apk version; ${tokens.length} fixes skipped`, where);
        skipped.add('invalidVersion', tokens.length);
        continue;
      }
      const seen = new Set<string>();
      for (const id of tokens) {
        if (seen.has(id)) continue;
        seen.add(id);
        const record: AffectedRecord = {
          vulnId: id,
          namespace,
          packageName: name,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] }],
          versions: [],
          fixState: 'fixed',
          fixedVersions: [version],
          feed: 'alpine-secdb',
        };
        out.push(record);
      }
    }
  }
}
