/** @module server/rate-limit — a per-client token bucket: `capacity` requests at once, refilled at `perMinute`. */

export interface RateLimitOptions {
  /** Sustained requests per minute per client. */
  perMinute: number;
  /** Burst size (default: perMinute / 4, at least 10). */
  burst?: number;
  /** Clients tracked at most; the least recently seen are forgotten first. */
  maxClients?: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until one request is allowed again (when refused). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;
  private readonly capacity: number;
  private readonly maxClients: number;

  constructor(options: RateLimitOptions, private readonly now: () => number = Date.now) {
    this.ratePerMs = options.perMinute / 60_000;
    this.capacity = options.burst ?? Math.max(10, Math.floor(options.perMinute / 4));
    this.maxClients = options.maxClients ?? 10_000;
  }

  take(client: string): RateDecision {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: this.capacity, updated: now };
      if (this.buckets.size >= this.maxClients) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    } else {
      this.buckets.delete(client);
      bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.updated) * this.ratePerMs);
      bucket.updated = now;
    }
    // Re-inserted so Map order is least-recently-seen first.
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000)) };
  }
}
