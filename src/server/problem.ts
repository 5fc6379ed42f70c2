/** @module server/problem — errors as RFC 9457 application/problem+json, with the DistillError code and hint. */
import { isDistillError, type ErrorCode } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The DistillError code (stable; see docs/errors.md). */
  code: ErrorCode | 'INTERNAL';
  hint?: string;
  instance?: string;
}

/** HTTP status for an error code: bad uploads are 422 (understood but unusable), missing resources 404. */
export function statusFor(code: ErrorCode | 'INTERNAL'): number {
  switch (code) {
    case 'UNAUTHORIZED':
      return 401;
    case 'PAYLOAD_TOO_LARGE':
    case 'FEED_TOO_LARGE':
      return 413;
    case 'RATE_LIMITED':
      return 429;
    case 'USAGE':
      return 400;
    case 'NOT_FOUND':
      return 404;
    case 'STORE_UNAVAILABLE':
    case 'DB_NOT_FOUND':
    case 'DB_CORRUPT':
    case 'DB_SCHEMA_NEWER':
    case 'DB_SCHEMA_OLD':
    case 'DB_LOCKED':
      return 503;
    case 'INTERNAL':
    case 'IO':
      return 500;
    default:
      // Everything else is a property of the submitted content: corrupt archive, invalid SBOM, path escape, …
      return 422;
  }
}

const TITLES: Partial<Record<number, string>> = {
  400: 'Bad request',
  401: 'Unauthorized',
  404: 'Not found',
  413: 'Payload too large',
  422: 'Unprocessable content',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

/** The problem document for any thrown value; unknown errors reveal no internals. */
export function problemFor(error: unknown, instance?: string): Problem {
  if (isDistillError(error)) {
    const status = statusFor(error.code);
    return {
      type: `urn:distill:error:${error.code}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail: error.message,
      code: error.code,
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      ...(instance !== undefined ? { instance } : {}),
    };
  }
  return { type: 'about:blank', title: TITLES[500]!, status: 500, detail: 'internal error (see the server log)', code: 'INTERNAL', ...(instance !== undefined ? { instance } : {}) };
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(problem)}\n`, { status: problem.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers } });
}
