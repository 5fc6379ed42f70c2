/** @module versions/version-cache — bounded parse caches and the shared VERSION_INVALID error for the version schemes. */
import { DistillError } from '../errors.js';
import type { SchemeName } from './version-scheme.js';

/**
 * A parse cache: matching compares the same few thousand installed and fixed versions hundreds of thousands
 * of times, so each string is parsed once. Bounded: when full it starts over rather than growing without end.
 */
export class ParseCache<T> {
  private readonly map = new Map<string, T | null>();

  constructor(
    private readonly parse: (version: string) => T | null,
    private readonly limit = 50_000,
  ) {}

  /** The parsed form, or null when the string is not valid in the scheme. */
  get(version: string): T | null {
    const hit = this.map.get(version);
    if (hit !== undefined) return hit;
    const parsed = this.parse(version);
    if (this.map.size >= this.limit) this.map.clear();
    this.map.set(version, parsed);
    return parsed;
  }
}

/** The error every scheme throws for an operand it cannot order. */
export function versionInvalid(scheme: SchemeName, version: string, why?: string): DistillError {
  const shown = version.length > 200 ? `${version.slice(0, 200)}…` : version;
  return new DistillError('VERSION_INVALID', `invalid ${scheme} version ${JSON.stringify(shown)}${why ? `: ${why}` : ''}`, {
    subject: shown,
    hint: `the ${scheme} version scheme cannot order this string, so no vulnerability rule is applied to it`,
  });
}

/** Parses through the cache or throws VERSION_INVALID. */
export function parsedOrThrow<T>(cache: ParseCache<T>, scheme: SchemeName, version: string): T {
  const parsed = cache.get(version);
  if (parsed === null) throw versionInvalid(scheme, version);
  return parsed;
}

/** Sign of a number as -1, 0 or 1. */
export function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}
