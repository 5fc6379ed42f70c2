/** @module catalog/licenses/spdx — maps Debian short license names (DEP-5) to SPDX identifiers where one fits. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// The official SPDX lists, as JSON arrays of ids (current and deprecated).
const LICENSE_IDS: readonly string[] = [...(require('spdx-license-ids') as string[]), ...(require('spdx-license-ids/deprecated.json') as string[])];
const EXCEPTION_IDS: readonly string[] = require('spdx-exceptions') as string[];

const byUpper = new Map<string, string>(LICENSE_IDS.map((id) => [id.toUpperCase(), id]));
const exceptionByUpper = new Map<string, string>(EXCEPTION_IDS.map((id) => [id.toUpperCase(), id]));

/** Debian names whose SPDX id is spelled differently (DEP-5 §"License specification", SPDX list). */
const ALIASES: Record<string, string> = {
  EXPAT: 'MIT',
  'MIT/X11': 'MIT',
  CC0: 'CC0-1.0',
  'APACHE-2': 'Apache-2.0',
  'APACHE 2.0': 'Apache-2.0',
  'MPL-2': 'MPL-2.0',
  'MPL-1.1': 'MPL-1.1',
  'PSF-2': 'PSF-2.0',
  'ZLIB': 'Zlib',
  'BSL': 'BSL-1.0',
  'BOOST': 'BSL-1.0',
  'PUBLIC-DOMAIN': 'public-domain',
};

/** Exceptions as Debian writes them after `with` (`GPL-3+ with Bison exception`), by GPL major version. */
const EXCEPTIONS: Record<string, string | Record<string, string>> = {
  BISON: 'Bison-exception-2.2',
  'BISON-2.2': 'Bison-exception-2.2',
  AUTOCONF: { '2': 'Autoconf-exception-2.0', '3': 'Autoconf-exception-3.0' },
  LIBTOOL: 'Libtool-exception',
  TEXINFO: 'Texinfo-exception',
  'LINUX-SYSCALL-NOTE': 'Linux-syscall-note',
  OPENSSL: 'OpenSSL-exception',
  CLASSPATH: 'Classpath-exception-2.0',
  'GCC-RUNTIME-LIBRARY': 'GCC-exception-3.1',
  FONT: 'Font-exception-2.0',
};

/** `GPL-2+`, `LGPL-2.1`, `GPLv3+`, `AGPL-3.0-or-later`, `GFDL-NIV-1.3+`: family, version and "or later". */
const GNU_NAME = /^(A|L)?GPL(?:-|\s|v|-v)?(\d+(?:\.\d+)?)(?:\.0)?(\+|-only|-or-later)?$/i;
const GFDL_NAME = /^GFDL(-NIV)?-(\d\.\d)(\+|-only|-or-later)?$/i;

function gnuVersion(version: string): string {
  return version.includes('.') ? version : `${version}.0`;
}

/** The SPDX id for one license name (no `and`/`or`), or the name unchanged when no SPDX id fits. */
export function normalizeLicenseName(raw: string): string {
  const name = raw.trim().replace(/\s+/g, ' ');
  if (name === '') return name;
  const withCut = /\s+with\s+/i.exec(name);
  if (withCut !== null) {
    const base = normalizeLicenseName(name.slice(0, withCut.index));
    const exception = exceptionId(name.slice(withCut.index + withCut[0].length), base);
    // Keep the declared text when either side has no SPDX id: a half-translated expression would mislead.
    return exception !== undefined && byUpper.has(base.toUpperCase()) ? `${base} WITH ${exception}` : name;
  }
  const upper = name.toUpperCase();
  const alias = ALIASES[upper];
  if (alias !== undefined) return alias;
  const gnu = GNU_NAME.exec(name);
  if (gnu !== null) {
    const family = `${(gnu[1] ?? '').toUpperCase()}GPL`;
    const version = gnuVersion(gnu[2]!);
    const later = gnu[3] === '+' || gnu[3]?.toLowerCase() === '-or-later';
    const id = `${family}-${version}-${later ? 'or-later' : 'only'}`;
    if (byUpper.has(id.toUpperCase())) return id;
  }
  const gfdl = GFDL_NAME.exec(name);
  if (gfdl !== null) {
    const later = gfdl[3] === '+' || gfdl[3]?.toLowerCase() === '-or-later';
    const id = `GFDL-${gfdl[2]}${gfdl[1] ? '-no-invariants' : ''}-${later ? 'or-later' : 'only'}`;
    if (byUpper.has(id.toUpperCase())) return id;
  }
  return byUpper.get(upper) ?? name;
}

function exceptionId(raw: string, base: string): string | undefined {
  const key = raw.trim().replace(/\s+exception$/i, '').replace(/\s+/g, '-').toUpperCase();
  const direct = exceptionByUpper.get(key) ?? exceptionByUpper.get(`${key}-EXCEPTION`);
  if (direct !== undefined) return direct;
  const known = EXCEPTIONS[key];
  if (typeof known === 'string') return known;
  if (known !== undefined) {
    const major = /GPL-(\d)/.exec(base)?.[1];
    return major === undefined ? undefined : known[major];
  }
  return undefined;
}

/**
 * Splits a DEP-5 license specification (`GPL-2+ or Artistic`, `BSD-3-clause and/or GPL-3+`, `MIT, and GPL-2`)
 * into its license names, each normalised with {@link normalizeLicenseName}.
 */
export function splitLicenseSpec(spec: string): string[] {
  return spec
    .replace(/\([^)]*\)/g, ' ')
    .split(/\s*,\s*(?:and\/or|and|or)?\s*|\s+(?:and\/or|and|or)\s+|\s*\|\s*/i)
    .map((part) => normalizeLicenseName(part))
    .filter((part) => part !== '');
}
