/** @module catalog/go/go-cataloger — Go modules compiled into ELF executables, from their embedded build info. */
import { PackageURL } from 'packageurl-js';
import type { Issue } from '../../errors.js';
import { describeError } from '../../errors.js';
import type { FileEntry } from '../../filesystem/file-entry.js';
import type { GoModulePackage, Relationship } from '../../sbom/package.js';
import type { Cataloger, CatalogContext, CatalogResult } from '../cataloger.js';
import { locationOf, packageId, readEvidenceBatches } from '../language-util.js';
import { BuildInfoFormatError, readGoBuildInfo, type GoBuildInfo } from './buildinfo.js';
import { ElfFormatError, hasElfMagic } from './elf.js';

const NAME = 'go-binary';
const MAX_BINARY_BYTES = 256 * 1024 * 1024;

/** Like Trivy: any regular file with an executable bit; we also require the ELF magic to skip scripts cheaply. */
export function selectsGoCandidate(entry: FileEntry): boolean {
  return entry.type === 'file' && (entry.mode & 0o111) !== 0 && hasElfMagic(entry.magic);
}

export function golangPurl(modulePath: string, version: string): string {
  const slash = modulePath.lastIndexOf('/');
  const namespace = slash > 0 ? modulePath.slice(0, slash) : undefined;
  const name = slash > 0 ? modulePath.slice(slash + 1) : modulePath;
  return new PackageURL('golang', namespace, name, version === '' ? undefined : version, undefined, undefined).toString();
}

/** Splits an -ldflags value into words, honouring single and double quotes and backslashes (as a shell would). */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

const SEMVER = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const VERSION_PREFIXES = new Set(['main', 'common', 'version', 'cmd']);

/**
 * The main module's version stamped with `-ldflags -X <pkg>.version=<semver>` (Trivy's fallback for `(devel)`):
 * `<module>/cmd/…` keys win, then `main.`/`common.`/`version.`/`cmd.` prefixes, then any other; ambiguity gives ''.
 */
export function ldflagsVersion(modulePath: string, settings: GoBuildInfo['settings']): string {
  const ldflags = settings.find((s) => s.key === '-ldflags')?.value;
  if (ldflags === undefined) return '';
  const words = shellWords(ldflags);
  const tiers: string[][] = [[], [], []];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    let assignment: string | undefined;
    if (word === '-X' || word === '--X') assignment = words[++i];
    else if (word.startsWith('-X=')) assignment = word.slice(3);
    else if (word.startsWith('--X=')) assignment = word.slice(4);
    if (assignment === undefined) continue;
    const eq = assignment.indexOf('=');
    if (eq <= 0) continue;
    const key = assignment.slice(0, eq);
    const value = assignment.slice(eq + 1);
    const lower = key.toLowerCase();
    if (!(lower.endsWith('.version') || lower.endsWith('.ver')) || !SEMVER.test(value)) continue;
    const prefix = (key.slice(key.lastIndexOf('/') + 1).split('.')[0] ?? '').toLowerCase();
    const tier = key.startsWith(`${modulePath}/cmd/`) ? 0 : VERSION_PREFIXES.has(prefix) ? 1 : 2;
    const list = tiers[tier] as string[];
    if (!list.includes(value)) list.push(value);
  }
  for (const list of tiers) {
    if (list.length === 0) continue;
    return list.length === 1 ? (list[0] as string) : '';
  }
  return '';
}

/** The packages of one binary: the Go standard library, each dependency (replacements applied), the main module. */
export function goPackagesOf(info: GoBuildInfo, context: CatalogContext, path: string): { packages: GoModulePackage[]; relationships: Relationship[] } {
  const location = locationOf(context, path);
  const make = (name: string, version: string, main: boolean, sum?: string): GoModulePackage => {
    const purl = golangPurl(name, version);
    const pkg: GoModulePackage = {
      type: 'go-module',
      id: packageId(purl, path),
      name,
      version,
      purl,
      cpes: [],
      licenses: [],
      locations: [{ ...location }],
      foundBy: NAME,
      goVersion: info.goVersion,
      main,
    };
    if (sum !== undefined) pkg.sum = sum;
    return pkg;
  };
  // `go1.22.3 X:boringcrypto` → `v1.22.3`, the form Go vulnerability data uses for the standard library.
  const stdlibVersion = 'v' + (info.goVersion.replace(/^go/, '').split(' ')[0] ?? '');
  const packages: GoModulePackage[] = [make('stdlib', stdlibVersion, false)];
  for (const dep of info.deps) {
    const effective = dep.replace ?? dep;
    packages.push(make(effective.path, effective.version === '(devel)' ? '' : effective.version, false, effective.sum));
  }
  const relationships: Relationship[] = [];
  if (info.main !== undefined) {
    let version = info.main.version === '(devel)' ? '' : info.main.version;
    const stamped = ldflagsVersion(info.main.path, info.settings);
    if (stamped !== '' && (version === '' || version.startsWith('v0.0.0'))) version = stamped;
    const main = make(info.main.path, version, true, info.main.sum);
    for (const dep of packages) relationships.push({ from: main.id, to: dep.id, type: 'depends-on' });
    packages.push(main);
  }
  return { packages, relationships };
}

async function catalog(context: CatalogContext): Promise<CatalogResult> {
  const packages: GoModulePackage[] = [];
  const relationships: Relationship[] = [];
  const issues: Issue[] = [];
  const candidates = [...context.resolver.entries()].filter(selectsGoCandidate);
  for await (const { entry, buffer } of readEvidenceBatches(context, candidates, MAX_BINARY_BYTES, NAME, issues)) {
    let info: GoBuildInfo | undefined;
    try {
      info = readGoBuildInfo(buffer);
    } catch (error) {
      const known = error instanceof ElfFormatError || error instanceof BuildInfoFormatError || error instanceof RangeError;
      issues.push({ code: 'PARSE_FAILED', message: known ? error.message : describeError(error), path: entry.path, source: NAME });
      continue;
    }
    if (info === undefined) continue;
    const found = goPackagesOf(info, context, entry.path);
    packages.push(...found.packages);
    relationships.push(...found.relationships);
  }
  return { packages, relationships, issues };
}

export const goCataloger: Cataloger = {
  name: NAME,
  kind: 'language',
  globs: [],
  selects: selectsGoCandidate,
  catalog,
};
