/** @module feeds/epss — FIRST EPSS CSV / CSV.gz, streamed line by line with a bounded line length → EpssScore. */
import { DistillError, describeError, type IssueCode } from '../errors.js';
import type { VulnStoreWriter } from '../vuln/vuln-store.js';
import type { EpssScore } from '../vuln/vulnerability.js';
import { beginImport, decodedChunks, finishImport, IssueCollector, type FeedImportOptions, type FeedImportResult, type FeedInput } from './feed-input.js';

export interface EpssImportOptions extends FeedImportOptions {
  /** A longer line is FEED_INVALID at once, without buffering the rest of it. Default 64 KiB. */
  maxLineBytes?: number;
  /** Rows handed to the writer per putEpss call. Default 20,000. */
  batchSize?: number;
}

export interface EpssHeader {
  /** `model_version` (e.g. v2025.03.14), or 'unknown' for files without the comment line. */
  model: string;
  /** Score date as YYYY-MM-DD. */
  date: string;
  /** Full score timestamp, ISO. */
  scoreTime?: string;
}

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

/** Parses `#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000`. */
export function parseEpssComment(line: string): EpssHeader | undefined {
  if (!line.startsWith('#')) return undefined;
  const fields = new Map<string, string>();
  for (const part of line.slice(1).split(',')) {
    const colon = part.indexOf(':');
    if (colon > 0) fields.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
  }
  const header: EpssHeader = { model: fields.get('model_version') ?? 'unknown', date: '' };
  const raw = fields.get('score_date');
  if (raw !== undefined) {
    // `+0000` is not accepted by every Date parser; make it `+00:00`.
    const time = Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (!Number.isNaN(time)) {
      header.scoreTime = new Date(time).toISOString();
      header.date = header.scoreTime.slice(0, 10);
    }
  }
  return header;
}

/** Streams an EPSS CSV (path, bytes or stream; gzip detected by magic bytes) into the writer. */
export async function importEpss(input: FeedInput, writer: VulnStoreWriter, options: EpssImportOptions): Promise<FeedImportResult> {
  const maxLine = options.maxLineBytes ?? 64 * 1024;
  const batchSize = options.batchSize ?? 20_000;
  const path = typeof input === 'string' ? input : options.origin;
  const issues = new IssueCollector('epss');
  const issue = (message: string, code: IssueCode = 'PARSE_FAILED'): void => issues.add(code, message, path);
  const stream = decodedChunks(input, { subject: path, maxInputBytes: options.maxInputBytes, maxDecodedBytes: options.maxDecodedBytes });

  let header: EpssHeader | undefined;
  let columns: { cve: number; epss: number; percentile: number } | undefined;
  let lineNo = 0;
  let records = 0;
  let batch: EpssScore[] = [];
  const seen = new Set<string>();

  const onLine = (line: string): void => {
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (columns === undefined) {
      if (line.startsWith('#')) {
        header ??= parseEpssComment(line);
        return;
      }
      const names = line.split(',').map((n) => n.trim().toLowerCase());
      const cve = names.indexOf('cve');
      const epss = names.indexOf('epss');
      const percentile = names.indexOf('percentile');
      if (cve < 0 || epss < 0 || percentile < 0) {
        throw new DistillError('FEED_INVALID', `not an EPSS CSV: line ${lineNo} is not a "cve,epss,percentile" header`, { subject: path });
      }
      columns = { cve, epss, percentile };
      // Only now is it known to be EPSS: a wrong file never empties the feed.
      beginImport(writer, 'epss', options);
      if (header === undefined) {
        header = { model: 'unknown', date: '' };
        issue('no "#model_version:…,score_date:…" line: model and score date unknown', 'FIELD_MISSING');
      }
      return;
    }
    if (line === '') return;
    const cells = line.split(',');
    const cve = cells[columns.cve];
    const score = Number(cells[columns.epss]);
    const percentile = Number(cells[columns.percentile]);
    if (cve === undefined || !CVE_ID.test(cve) || !(score >= 0 && score <= 1) || !(percentile >= 0 && percentile <= 1) || cells[columns.epss] === '' || cells[columns.percentile] === '') {
      issue(`line ${lineNo}: not a CVE id with scores in [0, 1]; skipped`);
      return;
    }
    if (seen.has(cve)) {
      issue(`line ${lineNo}: ${cve} listed twice; first kept`);
      return;
    }
    seen.add(cve);
    const h = header as EpssHeader;
    batch.push({ cve, score, percentile, date: h.date, model: h.model });
    records++;
    if (batch.length >= batchSize) {
      writer.putEpss(batch);
      batch = [];
    }
  };

  try {
    let carry: Buffer | undefined;
    for await (const chunk of stream.chunks) {
      const buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
        if (nl - start > maxLine) throw lineTooLong(path, lineNo + 1, maxLine);
        onLine(buf.toString('utf8', start, nl));
        start = nl + 1;
      }
      carry = start < buf.length ? buf.subarray(start) : undefined;
      // The bound that makes a 2 GB line cheap: stop as soon as the unfinished line is too long.
      if (carry !== undefined && carry.length > maxLine) throw lineTooLong(path, lineNo + 1, maxLine);
    }
    if (carry !== undefined) onLine(carry.toString('utf8'));
  } catch (error) {
    // Stops the read (and gunzip) early: a 2 GB line costs one 64 KiB look, not 2 GB.
    await stream.chunks.return(undefined).catch(() => undefined);
    if (error instanceof DistillError) throw error;
    throw new DistillError('FEED_INVALID', `cannot read EPSS CSV: ${describeError(error)}`, { subject: path, cause: error });
  }
  if (columns === undefined) throw new DistillError('FEED_INVALID', 'not an EPSS CSV: no "cve,epss,percentile" header', { subject: path });
  if (batch.length > 0) writer.putEpss(batch);
  const result: FeedImportResult = { feed: 'epss', records, vulnerabilities: 0, digest: stream.digest(), skipped: {}, issues: issues.list() };
  if (header?.scoreTime !== undefined) result.recordDate = header.scoreTime;
  return finishImport(writer, options, result);
}

function lineTooLong(path: string, line: number, max: number): DistillError {
  return new DistillError('FEED_INVALID', `EPSS CSV line ${line} is longer than ${max} bytes`, { subject: path, hint: 'the file is not an EPSS CSV, or it is corrupt' });
}
