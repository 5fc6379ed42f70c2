/** @module bench/changelog-tracker — a Debian-tracker-format feed built from real changelog.Debian.gz facts ("CVE X fixed in version V"). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * Debian's tracker data cannot be downloaded on these machines, but the changelogs of installed packages
 * (../shared/data/debian-bookworm-local-system/changelog.Debian.tar) name the CVEs each upload fixed. This
 * turns those facts into the tracker's JSON shape: for each source package and CVE, `resolved` in bookworm
 * with `fixed_version` = the oldest upload whose entry names the CVE. It carries no open, no-dsa or urgency
 * facts (the changelogs do not), so severities come from NVD when that feed is present, else `unknown`.
 */
export function changelogTracker(tarPath: string): { tracker: Record<string, Record<string, unknown>>; sources: number; cves: number } {
  const dir = mkdtempSync(join(tmpdir(), 'changelogs-'));
  execFileSync('tar', ['-xf', tarPath, '-C', dir]);
  const members = readdirSync(dir).sort().map((name) => join(dir, name, 'changelog.Debian.gz'));
  const tracker: Record<string, Record<string, unknown>> = {};
  let cves = 0;
  for (const member of members) {
    let text: string;
    try {
      text = gunzipSync(readFileSync(member)).toString('utf8');
    } catch {
      continue; // a symlink to another package's changelog, or not there: that package is read under its own name
    }
    let source: string | undefined;
    let version: string | undefined;
    const fixedIn = new Map<string, string>();
    for (const line of text.split('\n')) {
      const heading = /^(\S+) \(([^)\s]+)\) [^;]+;/.exec(line);
      if (heading !== null) {
        source ??= heading[1];
        version = heading[2];
        continue;
      }
      // Newest entries come first, so the last assignment is the oldest upload naming the CVE.
      if (version !== undefined) for (const match of line.matchAll(/CVE-\d{4}-\d{4,}/g)) fixedIn.set(match[0], version);
    }
    if (source === undefined || fixedIn.size === 0 || tracker[source] !== undefined) continue;
    const entries: Record<string, unknown> = {};
    for (const [cve, fixed] of [...fixedIn].sort()) {
      entries[cve] = { description: `fixed in ${source} ${fixed} according to its changelog.Debian.gz`, releases: { bookworm: { status: 'resolved', repositories: { bookworm: fixed }, fixed_version: fixed, urgency: 'not yet assigned' } } };
      cves++;
    }
    tracker[source] = entries;
  }
  rmSync(dir, { recursive: true, force: true });
  return { tracker, sources: Object.keys(tracker).length, cves };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const out = resolve(process.argv[2] ?? join(root, '.cache', 'demo', 'feeds', 'debian-changelog-tracker.json'));
  const { tracker, sources, cves } = changelogTracker(join(root, '..', 'shared', 'data', 'debian-bookworm-local-system', 'changelog.Debian.tar'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(tracker));
  console.log(`${out}: ${cves} fixed CVEs over ${sources} source packages`);
}
