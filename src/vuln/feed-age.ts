/** @module vuln/feed-age — how old a feed's data is and when it counts as stale (one rule for db status and scan reports). */
import type { FeedName, FeedProvenance } from './vulnerability.js';

/** Staleness limits in days, from the data's own date (else the fetch date). Daily-changing sources get short limits. */
export const DEFAULT_MAX_AGE_DAYS: Readonly<Record<FeedName, number>> = {
  'debian-tracker': 7,
  osv: 7,
  'alpine-secdb': 7,
  nvd: 7,
  epss: 3, // a new model run every day
  kev: 14, // CISA adds entries a few times a week
};

const DAY_MS = 86_400_000;

/** Days between the feed's own date (else its fetch date) and `now`; undefined when neither date parses. */
export function feedAgeDays(feed: Pick<FeedProvenance, 'recordDate' | 'fetchedAt'>, now: Date): number | undefined {
  const own = Date.parse(feed.recordDate ?? feed.fetchedAt);
  const reference = Number.isNaN(own) ? Date.parse(feed.fetchedAt) : own;
  return Number.isNaN(reference) ? undefined : (now.getTime() - reference) / DAY_MS;
}

/** The limit for a feed: an override for all feeds, one for this feed, or the default. */
export function maxAgeDaysFor(feed: FeedName, limits: Partial<Record<FeedName, number>> | number = {}): number {
  return typeof limits === 'number' ? limits : (limits[feed] ?? DEFAULT_MAX_AGE_DAYS[feed]);
}
