/** @module catalog/python/python-cataloger — installed Python distributions: dist-info METADATA and egg-info PKG-INFO. */
import { PackageURL } from 'packageurl-js';
import type { Issue } from '../../errors.js';
import { describeError } from '../../errors.js';
import type { PythonPackage } from '../../sbom/package.js';
import type { Cataloger, CatalogContext, CatalogResult } from '../cataloger.js';
import { contentEntries, decodeText, locationOf, packageId, readEvidence } from '../language-util.js';

const NAME = 'python';
/** METADATA carries the long description; a few MiB is generous. */
const MAX_METADATA_BYTES = 8 * 1024 * 1024;

/** Core metadata headers (RFC 822 style): repeated fields keep every value in order. */
export type CoreMetadata = Map<string, string[]>;

/**
 * Parses the header block of a METADATA / PKG-INFO file (up to the first blank line). Continuation lines
 * (leading space or tab) extend the previous value. Keys are lower-cased.
 */
export function parseCoreMetadata(text: string): CoreMetadata {
  const fields: CoreMetadata = new Map();
  let last: string[] | undefined;
  // Only the header block matters; do not split a multi-megabyte description into lines.
  const blank = /\r?\n\r?\n/.exec(text);
  const header = blank === null ? text : text.slice(0, blank.index + 1);
  for (const rawLine of header.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
      last[last.length - 1] += '\n' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    let values = fields.get(key);
    if (values === undefined) {
      values = [];
      fields.set(key, values);
    }
    values.push(value);
    last = values;
  }
  return fields;
}

/** OSI trove classifiers (after `License :: OSI Approved :: `) that name exactly one SPDX license. */
const CLASSIFIER_SPDX: ReadonlyMap<string, string> = new Map([
  ['MIT License', 'MIT'],
  ['MIT No Attribution License (MIT-0)', 'MIT-0'],
  ['Apache Software License', 'Apache-2.0'],
  ['ISC License (ISCL)', 'ISC'],
  ['Python Software Foundation License', 'PSF-2.0'],
  ['The Unlicense (Unlicense)', 'Unlicense'],
  ['Mozilla Public License 1.1 (MPL 1.1)', 'MPL-1.1'],
  ['Mozilla Public License 2.0 (MPL 2.0)', 'MPL-2.0'],
  ['GNU General Public License v2 (GPLv2)', 'GPL-2.0-only'],
  ['GNU General Public License v2 or later (GPLv2+)', 'GPL-2.0-or-later'],
  ['GNU General Public License v3 (GPLv3)', 'GPL-3.0-only'],
  ['GNU General Public License v3 or later (GPLv3+)', 'GPL-3.0-or-later'],
  ['GNU Lesser General Public License v2 (LGPLv2)', 'LGPL-2.0-only'],
  ['GNU Lesser General Public License v2 or later (LGPLv2+)', 'LGPL-2.0-or-later'],
  ['GNU Lesser General Public License v3 (LGPLv3)', 'LGPL-3.0-only'],
  ['GNU Lesser General Public License v3 or later (LGPLv3+)', 'LGPL-3.0-or-later'],
  ['GNU Affero General Public License v3', 'AGPL-3.0-only'],
  ['GNU Affero General Public License v3 or later (AGPLv3+)', 'AGPL-3.0-or-later'],
  ['Eclipse Public License 1.0 (EPL-1.0)', 'EPL-1.0'],
  ['Eclipse Public License 2.0 (EPL-2.0)', 'EPL-2.0'],
  ['Boost Software License 1.0 (BSL-1.0)', 'BSL-1.0'],
  ['zlib/libpng License', 'Zlib'],
  ['European Union Public Licence 1.2 (EUPL 1.2)', 'EUPL-1.2'],
  ['Universal Permissive License (UPL)', 'UPL-1.0'],
  ['Historical Permission Notice and Disclaimer (HPND)', 'HPND'],
  ['Artistic License', 'Artistic-2.0'],
]);

/** A `License :: …` classifier as an SPDX id when unambiguous, else its last segment (e.g. `BSD License`). */
export function classifierLicense(classifier: string): string | undefined {
  const parts = classifier.split('::').map((part) => part.trim());
  if (parts[0] !== 'License' || parts.length < 2) return undefined;
  const last = parts[parts.length - 1] ?? '';
  if (last === '' || last === 'OSI Approved') return undefined;
  if (parts[1] === 'OSI Approved') return CLASSIFIER_SPDX.get(last) ?? last;
  return last;
}

/** Most specific first: License-Expression (PEP 639), a short License field, then license classifiers. */
export function pythonLicenses(fields: CoreMetadata): string[] {
  const out: string[] = [];
  const add = (value: string | undefined): void => {
    if (value !== undefined && value !== '' && !out.includes(value)) out.push(value);
  };
  for (const expression of fields.get('license-expression') ?? []) add(expression.trim());
  for (const license of fields.get('license') ?? []) {
    const trimmed = license.trim();
    // Many packages paste the whole license text into License; that is not a license name.
    if (trimmed.toUpperCase() !== 'UNKNOWN' && !trimmed.includes('\n') && trimmed.length <= 100) add(trimmed);
  }
  for (const classifier of fields.get('classifier') ?? []) add(classifierLicense(classifier));
  return out;
}

/** PEP 503 name normalisation: lower case, runs of `-`, `_`, `.` become one `-`. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function pypiPurl(name: string, version: string): string {
  return new PackageURL('pypi', undefined, normalizePythonName(name), version, undefined, undefined).toString();
}

async function catalog(context: CatalogContext): Promise<CatalogResult> {
  const packages: PythonPackage[] = [];
  const issues: Issue[] = [];
  for (const entry of contentEntries(context, pythonCataloger.globs)) {
    const buffer = await readEvidence(context, entry, MAX_METADATA_BYTES, NAME, issues);
    if (buffer === undefined) continue;
    const { text } = decodeText(buffer, entry.path, NAME, issues);
    const fields = parseCoreMetadata(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    const name = fields.get('name')?.[0]?.trim() ?? '';
    const version = fields.get('version')?.[0]?.trim() ?? '';
    if (name === '' || version === '') {
      const missing = [name === '' ? 'Name' : '', version === '' ? 'Version' : ''].filter(Boolean).join(' and ');
      issues.push({ code: 'FIELD_MISSING', message: `core metadata has no ${missing}`, path: entry.path, source: NAME });
      continue;
    }
    let purl: string;
    try {
      purl = pypiPurl(name, version);
    } catch (error) {
      issues.push({ code: 'PARSE_FAILED', message: `invalid distribution name: ${describeError(error)}`, path: entry.path, source: NAME });
      continue;
    }
    packages.push({
      type: 'python',
      id: packageId(purl, entry.path),
      name,
      version,
      purl,
      cpes: [],
      licenses: pythonLicenses(fields),
      locations: [locationOf(context, entry.path)],
      foundBy: NAME,
    });
  }
  return { packages, relationships: [], issues };
}

export const pythonCataloger: Cataloger = {
  name: NAME,
  kind: 'language',
  // `*.egg-info` alone matches the single-file egg-info form (a directory is filtered out as non-content).
  globs: ['**/*.dist-info/METADATA', '**/*.egg-info/PKG-INFO', '**/*.egg-info', '**/EGG-INFO/PKG-INFO'],
  catalog,
};
