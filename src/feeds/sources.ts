/** @module feeds/sources — documented default feed URLs, their overrides (flags, env object) and the download plan. */
import { DistillError } from '../errors.js';
import type { FeedName } from '../vuln/vulnerability.js';

export interface FeedUrls {
  /** The tracker's JSON for all source packages. */
  debianTracker: string;
  /** OSV bucket root; per ecosystem `<root>/<Ecosystem>/all.zip`. */
  osvBase: string;
  /** NVD CVE API 2.0 endpoint (paged). */
  nvdApi: string;
  /** FIRST EPSS daily scores; `-current` redirects to the dated file. */
  epss: string;
  kev: string;
  /** Alpine secdb root; per release and repository `<root>/v3.20/main.json`. */
  alpineSecdb: string;
}

export const DEFAULT_FEED_URLS: Readonly<FeedUrls> = Object.freeze({
  debianTracker: 'https://security-tracker.debian.org/tracker/data/json',
  osvBase: 'https://osv-vulnerabilities.storage.googleapis.com',
  nvdApi: 'https://services.nvd.nist.gov/rest/json/cves/2.0',
  // FIRST moved the bulk file from epss.cyentia.com to Empirical Security, who run EPSS for FIRST.
  epss: 'https://epss.empiricalsecurity.com/epss_scores-current.csv.gz',
  kev: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json',
  alpineSecdb: 'https://secdb.alpinelinux.org',
});

/** Environment variables the CLI passes in (the library reads only the object it is given). */
export const FEED_URL_ENV: Readonly<Record<keyof FeedUrls, string>> = Object.freeze({
  debianTracker: 'DISTILL_DEBIAN_TRACKER_URL',
  osvBase: 'DISTILL_OSV_URL',
  nvdApi: 'DISTILL_NVD_URL',
  epss: 'DISTILL_EPSS_URL',
  kev: 'DISTILL_KEV_URL',
  alpineSecdb: 'DISTILL_ALPINE_SECDB_URL',
});
/** NVD API key: sent as the `apiKey` request header, raises NVD's rate limit from 5 to 50 requests per 30 s. */
export const NVD_API_KEY_ENV = 'NVD_API_KEY';
export const NVD_API_KEY_HEADER = 'apiKey';
export const NVD_MAX_RESULTS_PER_PAGE = 2000;
/** NVD asks clients to pause between requests: ~6 s without a key, less with one. */
export const NVD_DELAY_MS = { withoutKey: 6000, withKey: 700 } as const;

/** OSV ecosystems distill matches, spelled as the OSV bucket spells its folders. */
export const OSV_ECOSYSTEMS = ['Debian', 'Alpine', 'npm', 'PyPI', 'Go', 'Maven', 'crates.io'] as const;
export type OsvEcosystem = (typeof OSV_ECOSYSTEMS)[number];

export function osvEcosystemUrl(ecosystem: string, base: string = DEFAULT_FEED_URLS.osvBase): string {
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(ecosystem)}/all.zip`;
}

/** Alpine releases with secdb files fetched by default (supported branches at the time of writing). */
export const ALPINE_RELEASES = ['v3.19', 'v3.20', 'v3.21', 'v3.22'] as const;

export function alpineSecdbUrl(release: string, repository: 'main' | 'community', base: string = DEFAULT_FEED_URLS.alpineSecdb): string {
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(release)}/${repository}.json`;
}

export function nvdPageUrl(base: string, startIndex: number, resultsPerPage: number = NVD_MAX_RESULTS_PER_PAGE): string {
  if (!Number.isInteger(resultsPerPage) || resultsPerPage < 1 || resultsPerPage > NVD_MAX_RESULTS_PER_PAGE) {
    throw new DistillError('USAGE', `NVD resultsPerPage must be 1–${NVD_MAX_RESULTS_PER_PAGE}, not ${resultsPerPage}`);
  }
  const url = new URL(base);
  url.searchParams.set('startIndex', String(startIndex));
  url.searchParams.set('resultsPerPage', String(resultsPerPage));
  return url.toString();
}

/** Flags win over the env object, which wins over the defaults. Every URL must be http(s). */
export function resolveFeedUrls(flags: Partial<FeedUrls> = {}, env: Readonly<Record<string, string | undefined>> = {}): FeedUrls {
  const out = { ...DEFAULT_FEED_URLS };
  for (const key of Object.keys(DEFAULT_FEED_URLS) as Array<keyof FeedUrls>) {
    const value = flags[key] ?? nonEmpty(env[FEED_URL_ENV[key]]);
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new DistillError('USAGE', `feed URL for ${key} is not a URL: ${value}`, { subject: key });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DistillError('USAGE', `feed URL for ${key} must be http(s): ${value}`, { subject: key });
    out[key] = value;
  }
  return out;
}

/** One file `db update` downloads. NVD is paged separately (see downloadNvdPages in fetch.ts). */
export interface PlannedDownload {
  feed: FeedName;
  url: string;
  /** File name inside the download directory; detectFeedFiles recognises it. */
  fileName: string;
}

export function planDownloads(urls: FeedUrls, choice: { ecosystems?: readonly string[]; alpineReleases?: readonly string[] } = {}): PlannedDownload[] {
  const ecosystems = choice.ecosystems ?? OSV_ECOSYSTEMS;
  const alpine = (choice.alpineReleases ?? ALPINE_RELEASES).flatMap((release) =>
    (['main', 'community'] as const).map((repo): PlannedDownload => ({ feed: 'alpine-secdb', url: alpineSecdbUrl(release, repo, urls.alpineSecdb), fileName: `alpine-secdb-${release}-${repo}.json` })),
  );
  return [
    { feed: 'debian-tracker', url: urls.debianTracker, fileName: 'debian-tracker.json' },
    ...alpine,
    ...ecosystems.map((eco): PlannedDownload => ({ feed: 'osv', url: osvEcosystemUrl(eco, urls.osvBase), fileName: `osv-${eco.replace(/[^A-Za-z0-9.-]/g, '_')}-all.zip` })),
    { feed: 'epss', url: urls.epss, fileName: 'epss_scores-current.csv.gz' },
    { feed: 'kev', url: urls.kev, fileName: 'known_exploited_vulnerabilities.json' },
  ];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
