/** @module server/params — strict parsing of query parameters: anything outside the expected shape is a 400, never passed on. */
import { DistillError } from '../errors.js';
import type { EventKind, FindingQuery, ScanRole } from '../storage/app-store.js';
import { isSeverity, SEVERITIES } from '../vuln/severity.js';

const MAX_PARAM_LENGTH = 200;
/** Image names: catalog names, or names uploads were filed under (letters, digits, . _ - / : @). */
export const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._\/:@+-]{0,127}$/;
/** Store ids are opaque, but always short and URL-safe. */
const ID = /^[A-Za-z0-9._:-]{1,100}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
export const ROLES: readonly ScanRole[] = ['minimal', 'stock', 'upload', 'other'];
export const EVENT_KINDS: readonly EventKind[] = ['build', 'scan', 'rescan', 'db-update', 'packages-changed', 'compliance'];

function bad(name: string, value: string, expected: string): DistillError {
  return new DistillError('USAGE', `query parameter ${name}=${JSON.stringify(value.slice(0, 60))} is not ${expected}`, { subject: name, hint: 'see /api/openapi.json for the accepted values' });
}

/** Reads one query parameter; repeated or over-long values are refused. */
export class Params {
  constructor(private readonly search: URLSearchParams) {
    for (const [key, value] of search) if (value.length > MAX_PARAM_LENGTH) throw bad(key, value, `at most ${MAX_PARAM_LENGTH} characters`);
  }

  string(name: string): string | undefined {
    const all = this.search.getAll(name);
    if (all.length > 1) throw bad(name, all.join(','), 'given once');
    const value = all[0];
    return value === undefined || value === '' ? undefined : value;
  }

  image(name = 'image'): string | undefined {
    const value = this.string(name);
    if (value !== undefined && !IMAGE_NAME.test(value)) throw bad(name, value, 'an image name (letters, digits, . _ - / : @ +)');
    return value;
  }

  id(name: string): string | undefined {
    const value = this.string(name);
    if (value !== undefined && !ID.test(value)) throw bad(name, value, 'an id');
    return value;
  }

  int(name: string, min: number, max: number): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) throw bad(name, value, `a whole number from ${min} to ${max}`);
    return Number(value);
  }

  bool(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw bad(name, value, 'true or false');
  }

  time(name: string): string | undefined {
    const value = this.string(name);
    if (value !== undefined && (!ISO_TIME.test(value) || Number.isNaN(Date.parse(value)))) throw bad(name, value, 'an ISO 8601 time');
    return value === undefined ? undefined : new Date(value).toISOString();
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.string(name);
    if (value !== undefined && !(allowed as readonly string[]).includes(value)) throw bad(name, value, `one of ${allowed.join(', ')}`);
    return value as T | undefined;
  }

  /** Free text (search): any characters, bounded; the store binds it as a parameter. */
  text(name: string): string | undefined {
    return this.string(name);
  }

  findingQuery(): FindingQuery {
    const severity = this.string('severity');
    if (severity !== undefined && !isSeverity(severity)) throw bad('severity', severity, `one of ${SEVERITIES.join(', ')}`);
    const kev = this.bool('kev');
    const fixable = this.bool('fixable');
    const search = this.text('search');
    const limit = this.int('limit', 1, 5000);
    const offset = this.int('offset', 0, 1_000_000);
    return {
      ...(severity !== undefined ? { severity } : {}),
      ...(kev !== undefined ? { kev } : {}),
      ...(fixable !== undefined ? { fixable } : {}),
      ...(search !== undefined ? { search } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(offset !== undefined ? { offset } : {}),
    };
  }
}
