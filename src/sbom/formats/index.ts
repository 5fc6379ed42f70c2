/** @module sbom/formats/index — the SBOM formats registry: encodeSbom and decodeSbom (auto-detecting CycloneDX, SPDX, native). */
import { DistillError } from '../../errors.js';
import type { Sbom } from '../package.js';
import { decodeCycloneDx, encodeCycloneDx } from './cyclonedx.js';
import { decodeNative, encodeNative } from './native.js';
import { decodeSpdx, encodeSpdx } from './spdx.js';
import { encodeTable } from './table.js';

export const SBOM_FORMATS = ['cyclonedx-json', 'spdx-json', 'json', 'table'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];
export type DecodedFormat = 'cyclonedx-json' | 'spdx-json' | 'json';

export interface EncodeOptions {
  /** JSON indentation for the JSON formats (default 2). */
  space?: number;
  /** Terminal width for `table`. */
  width?: number;
  /** CycloneDX version for `cyclonedx-json` (default 1.6). */
  cyclonedxVersion?: '1.4' | '1.5' | '1.6';
}

export function isSbomFormat(value: string): value is SbomFormat {
  return (SBOM_FORMATS as readonly string[]).includes(value);
}

export function encodeSbom(sbom: Sbom, format: SbomFormat, options: EncodeOptions = {}): string {
  const json = options.space === undefined ? {} : { space: options.space };
  switch (format) {
    case 'cyclonedx-json':
      return encodeCycloneDx(sbom, { ...json, ...(options.cyclonedxVersion ? { specVersion: options.cyclonedxVersion } : {}) });
    case 'spdx-json':
      return encodeSpdx(sbom, json);
    case 'json':
      return encodeNative(sbom, json);
    case 'table':
      return encodeTable(sbom, options.width === undefined ? {} : { width: options.width });
    default:
      throw new DistillError('FORMAT_UNKNOWN', `unknown SBOM format "${String(format)}"`, { hint: `use one of ${SBOM_FORMATS.join(', ')}`, subject: String(format) });
  }
}

export interface DecodeOptions {
  /** Largest accepted input in bytes (UTF-8); default 256 MiB. */
  maxBytes?: number;
}

export const DEFAULT_MAX_SBOM_BYTES = 256 * 1024 * 1024;

/** Which format a parsed document is, or undefined. */
export function detectSbomFormat(doc: unknown): DecodedFormat | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  if (d.bomFormat === 'CycloneDX') return 'cyclonedx-json';
  if (typeof d.spdxVersion === 'string' && d.spdxVersion.startsWith('SPDX-')) return 'spdx-json';
  if ('schemaVersion' in d && 'subject' in d && 'packages' in d) return 'json';
  return undefined;
}

/**
 * Parses CycloneDX JSON (1.2–1.6), SPDX JSON (2.2/2.3) or distill's native JSON into an Sbom. Input larger
 * than maxBytes or not JSON → SBOM_INVALID; JSON of no known format → FORMAT_UNKNOWN; missing or
 * unsupported fields inside a known format → `issues` on the result.
 */
export function decodeSbom(text: string | Buffer, options: DecodeOptions = {}): Sbom {
  const max = options.maxBytes ?? DEFAULT_MAX_SBOM_BYTES;
  const size = typeof text === 'string' ? (text.length > max ? Buffer.byteLength(text) : text.length) : text.length;
  if (size > max) {
    throw new DistillError('SBOM_INVALID', `SBOM is ${size} bytes, more than the ${max} allowed`, { hint: 'raise the size limit if this SBOM is genuine' });
  }
  const source = typeof text === 'string' ? text : text.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(source.charCodeAt(0) === 0xfeff ? source.slice(1) : source);
  } catch (error) {
    throw new DistillError('SBOM_INVALID', `SBOM is not valid JSON: ${(error as Error).message.slice(0, 200)}`, {
      hint: 'distill reads CycloneDX JSON, SPDX JSON and its own JSON; XML and tag-value SBOMs are not supported',
      cause: error,
    });
  }
  const format = detectSbomFormat(doc);
  const record = doc as Record<string, unknown>;
  switch (format) {
    case 'cyclonedx-json':
      return decodeCycloneDx(record);
    case 'spdx-json':
      return decodeSpdx(record);
    case 'json':
      return decodeNative(record);
    default:
      throw new DistillError('FORMAT_UNKNOWN', 'the JSON document is neither CycloneDX, SPDX nor a distill SBOM', {
        hint: 'CycloneDX needs "bomFormat": "CycloneDX", SPDX a "spdxVersion" field',
      });
  }
}

export { decodeCycloneDx, encodeCycloneDx, sortPackages, type CycloneDxEncodeOptions } from './cyclonedx.js';
export { decodeSpdx, encodeSpdx, sanitizeSpdxId, type SpdxEncodeOptions } from './spdx.js';
export { decodeNative, encodeNative, NATIVE_SCHEMA_VERSION } from './native.js';
export { encodeTable, type TableEncodeOptions } from './table.js';
export { classifyLicense, isSpdxExpression, isSpdxLicenseId, type LicenseKind } from './licenses.js';
