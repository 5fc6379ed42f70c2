/** @module errors — DistillError (stable code + hint + cause) and the non-fatal Issue record. */

/** Stable error codes. Codes are part of the public contract: never rename one, only add. */
export type ErrorCode =
  | 'BAD_REFERENCE'
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_UNRECOGNIZED'
  | 'PLATFORM_NOT_FOUND'
  | 'TAG_NOT_FOUND'
  | 'AMBIGUOUS_IMAGE'
  | 'MANIFEST_INVALID'
  | 'BLOB_NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'ARCHIVE_TRUNCATED'
  | 'ARCHIVE_CORRUPT'
  | 'TAR_CORRUPT'
  | 'TAR_TRUNCATED'
  | 'TAR_ENTRY_TOO_LARGE'
  | 'PATH_ESCAPE'
  | 'DECOMPRESS_FAILED'
  | 'SYMLINK_LOOP'
  | 'FILE_NOT_FOUND'
  | 'FILE_TOO_LARGE'
  | 'SBOM_INVALID'
  | 'FORMAT_UNKNOWN'
  | 'VERSION_INVALID'
  /** A VEX document (OpenVEX or CycloneDX VEX) is malformed. */
  | 'VEX_INVALID'
  | 'FEED_TOO_LARGE'
  | 'USAGE'
  | 'IO'
  /** A feed file is not in the format it claims, or breaks a bound (line length, size). */
  | 'FEED_INVALID'
  /** DNS or connect failure: no route to the feed host (or its proxy). */
  | 'NETWORK_UNREACHABLE'
  /** The server answered, but the download failed (HTTP error, truncated body, retries exhausted). */
  | 'DOWNLOAD_FAILED'
  /** No vulnerability database at the expected path. */
  | 'DB_NOT_FOUND'
  /** The vulnerability database file is damaged, truncated or not a distill database. */
  | 'DB_CORRUPT'
  /** The database was written by a newer distill (its schema version is unknown to this one). */
  | 'DB_SCHEMA_NEWER'
  /** The database has an older schema and was opened read-only, so it cannot be migrated. */
  | 'DB_SCHEMA_OLD'
  /** Another `db update`/`db import` holds the database lock. */
  | 'DB_LOCKED'
  /** A freshly built database failed its checks (integrity, an imported feed with no records); it was not installed. */
  | 'DB_VERIFY_FAILED'
  /** An apt InRelease signature does not match its content (tampered or corrupt). */
  | 'INRELEASE_BAD_SIGNATURE'
  /** No key in the configured keyring made the InRelease signature (or the file is not signed). */
  | 'INRELEASE_UNKNOWN_KEY'
  /** The Release file's Valid-Until is in the past. */
  | 'RELEASE_EXPIRED'
  /** An index file (Packages.xz) does not match the size or SHA256 the signed Release lists. */
  | 'RELEASE_HASH_MISMATCH'
  /** A .deb does not match the size or SHA256 its Packages entry lists. */
  | 'DEB_HASH_MISMATCH'
  /** A signed Release is malformed, names another suite than the one asked for, or does not list a needed index. */
  | 'RELEASE_INVALID'
  /** A .deb file is malformed: bad ar magic, truncated or oversized member, wrong member order, unsupported compression, unsafe path. */
  | 'DEB_INVALID'
  /** A build recipe is malformed: YAML syntax, an unknown or mistyped field, a bad value (the message names file:line:column). */
  | 'RECIPE_INVALID'
  /** A build recipe (or a recipe it `extends`) does not exist or cannot be read. */
  | 'RECIPE_NOT_FOUND'
  /** Two things claim one path of an image tree in incompatible ways (a file where a directory is, a parent that is a file). */
  | 'TREE_CONFLICT'
  /** A Depends/Pre-Depends/Provides field in a package index cannot be parsed. */
  | 'RELATION_INVALID'
  /** A dependency (or a requested package) that no candidate in the index satisfies. */
  | 'RESOLVE_CONFLICT'
  /** A requested package name is not in the index (not even as a virtual package). */
  | 'RESOLVE_UNKNOWN_PACKAGE'
  /** A lockfile is malformed or has a field of the wrong type. */
  | 'LOCK_INVALID'
  /** A locked package is no longer in the index, or its hash changed. */
  | 'LOCK_STALE'
  /** A Dockerfile given to `comply --dockerfile` cannot be parsed (the message names the line). */
  | 'DOCKERFILE_INVALID'
  /** A compliance framework name that distill does not know. */
  | 'FRAMEWORK_UNKNOWN'
  /** A registry refused the credentials (401/403 after the auth challenge was answered). */
  | 'REGISTRY_AUTH_FAILED'
  /** A registry answered with an unexpected status, or kept failing after retries (429/5xx, connection resets). */
  | 'REGISTRY_ERROR'
  /** The TLS connection to a registry failed verification (unknown CA, wrong host name) or plain HTTP was refused. */
  | 'REGISTRY_TLS'
  /** A manifest or index from a registry is larger than the accepted limit. */
  | 'MANIFEST_TOO_LARGE'
  /** A manifest asked for by digest is not in the registry. */
  | 'MANIFEST_NOT_FOUND'
  /** An attached artifact (SBOM, VEX, provenance) asked for is not attached to the image. */
  | 'ARTIFACT_NOT_FOUND'
  /** A signature does not verify against the key, or signs other content than the image. */
  | 'SIGNATURE_INVALID'
  /** The image has no signature to verify. */
  | 'SIGNATURE_NOT_FOUND'
  /** A key file is malformed, encrypted with a wrong password, or not the expected kind (ECDSA P-256). */
  | 'KEY_INVALID'
  /** A write to the API without a valid token. */
  | 'UNAUTHORIZED'
  /** An upload or request body over the size limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** Too many requests from one client in the rate-limit window. */
  | 'RATE_LIMITED'
  /** DISTILL_DATABASE_URL (or --database) is not a usable sqlite path or postgres:// URL. */
  | 'DATABASE_URL_INVALID'
  /** The application database (SQLite or PostgreSQL) cannot be reached or opened. */
  | 'STORE_UNAVAILABLE'
  /** A queued build or scan job failed (the message carries the job's own error). */
  | 'JOB_FAILED'
  /** An API resource (image, build, scan) that does not exist. */
  | 'NOT_FOUND';

export interface DistillErrorOptions {
  hint?: string;
  cause?: unknown;
  /** The file, blob or field the error is about, for the one-line CLI message. */
  subject?: string;
}

/** A known, user-facing failure. The CLI prints `message` and `hint`; never a stack. */
export class DistillError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options: DistillErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DistillError';
    this.code = code;
    this.hint = options.hint;
    this.subject = options.subject;
  }
}

export function isDistillError(value: unknown, code?: ErrorCode): value is DistillError {
  return value instanceof DistillError && (code === undefined || value.code === code);
}

/** Failures that mean the image itself cannot be trusted: they abort a run instead of becoming issues. */
const INTEGRITY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'ARCHIVE_TRUNCATED', 'ARCHIVE_CORRUPT', 'TAR_TRUNCATED', 'TAR_CORRUPT', 'DECOMPRESS_FAILED', 'BLOB_NOT_FOUND']);

export function isIntegrityError(value: unknown): value is DistillError {
  return value instanceof DistillError && INTEGRITY_CODES.has(value.code);
}

/** Issue codes: non-fatal problems recorded in results instead of aborting. */
export type IssueCode =
  | 'PARSE_FAILED'
  | 'INVALID_UTF8'
  | 'FIELD_MISSING'
  | 'FILE_TOO_LARGE'
  | 'SYMLINK_LOOP'
  | 'SYMLINK_ESCAPE'
  | 'PATH_ESCAPE'
  | 'UNREADABLE'
  | 'NESTING_TOO_DEEP'
  | 'UNSUPPORTED'
  /** A namespace (`alpine:3.20`) has no data in the vulnerability store: its packages were not checked. */
  | 'NO_VULN_DATA';

/** A non-fatal problem tied to the file (and cataloger) it came from. */
export interface Issue {
  code: IssueCode;
  message: string;
  /** Path inside the image, when the issue is about a file. */
  path?: string;
  /** Which component noticed it (cataloger name, "layer-index", …). */
  source?: string;
}

/** Normalises anything thrown into a message for an Issue. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
