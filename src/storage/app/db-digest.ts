/** @module storage/app/db-digest — one digest over the feeds a vulnerability DB holds: a scan's dbDigest, and what triggers a rescan when it changes. */
import { createHash } from 'node:crypto';
import type { FeedProvenance } from '../../vuln/vulnerability.js';

/** sha256 over the sorted (feed, digest) pairs; independent of import times and paths, so re-importing the same bytes changes nothing. */
export function vulnDbDigest(feeds: readonly FeedProvenance[]): string {
  const lines = feeds.map((f) => `${f.feed}\t${f.digest}`).sort();
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}
