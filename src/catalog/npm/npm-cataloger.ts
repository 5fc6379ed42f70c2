/** @module catalog/npm/npm-cataloger — installed npm packages: the package.json at the root of each node_modules package. */
import { PackageURL } from 'packageurl-js';
import type { Issue } from '../../errors.js';
import { describeError } from '../../errors.js';
import type { NpmPackage } from '../../sbom/package.js';
import type { Cataloger, CatalogContext, CatalogResult } from '../cataloger.js';
import { contentEntries, decodeText, locationOf, packageId, readEvidence } from '../language-util.js';

const NAME = 'npm';
/** package.json files are small; anything bigger is not a manifest worth parsing. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * True for `…/node_modules/<name>/package.json` and `…/node_modules/@scope/<name>/package.json` only:
 * package.json files deeper inside a package (test fixtures, templates) do not describe installed packages.
 */
export function isInstalledPackageManifest(path: string): boolean {
  const parts = path.split('/');
  const n = parts.length;
  if (parts[n - 1] !== 'package.json' || n < 4) return false;
  const name = parts[n - 2] ?? '';
  if (name === '' || name.startsWith('.') || name === 'node_modules') return false;
  if (parts[n - 3] === 'node_modules') return !name.startsWith('@');
  const scope = parts[n - 3] ?? '';
  return scope.length > 1 && scope.startsWith('@') && parts[n - 4] === 'node_modules';
}

/** npm purl: the scope (with its `@`) is the namespace, percent-encoded by packageurl-js. */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash > 0 ? name.slice(0, slash) : undefined;
  const bare = slash > 0 ? name.slice(slash + 1) : name;
  return new PackageURL('npm', namespace, bare, version, undefined, undefined).toString();
}

function licenseName(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const type = (value as Record<string, unknown>).type;
    if (typeof type === 'string' && type.trim() !== '') return type.trim();
  }
  return undefined;
}

/** `license` (string or legacy `{type}`), then the legacy `licenses` array of strings or `{type, url}`. */
export function npmLicenses(manifest: Record<string, unknown>): string[] {
  const out: string[] = [];
  const add = (value: unknown): void => {
    const name = licenseName(value);
    if (name !== undefined && !out.includes(name)) out.push(name);
  };
  const license = manifest.license;
  if (Array.isArray(license)) license.forEach(add);
  else add(license);
  const licenses = manifest.licenses;
  if (Array.isArray(licenses)) licenses.forEach(add);
  else add(licenses);
  return out;
}

/** Parses one package.json; returns the package, or records an Issue and returns undefined. */
export function parsePackageJson(text: string, path: string, issues: Issue[]): { name: string; version: string; licenses: string[] } | undefined {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    issues.push({ code: 'PARSE_FAILED', message: `package.json is not JSON: ${describeError(error)}`, path, source: NAME });
    return undefined;
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    issues.push({ code: 'PARSE_FAILED', message: 'package.json is not a JSON object', path, source: NAME });
    return undefined;
  }
  const record = manifest as Record<string, unknown>;
  const name = typeof record.name === 'string' ? record.name.trim() : '';
  const version = typeof record.version === 'string' ? record.version.trim() : '';
  // Like Trivy, a manifest without name or version is not a package; unlike Trivy, say so.
  if (name === '' || version === '') {
    issues.push({ code: 'FIELD_MISSING', message: `package.json has no ${name === '' ? 'name' : 'version'}`, path, source: NAME });
    return undefined;
  }
  return { name, version, licenses: npmLicenses(record) };
}

async function catalog(context: CatalogContext): Promise<CatalogResult> {
  const packages: NpmPackage[] = [];
  const issues: Issue[] = [];
  for (const entry of contentEntries(context, npmCataloger.globs)) {
    if (!isInstalledPackageManifest(entry.path)) continue;
    const buffer = await readEvidence(context, entry, MAX_MANIFEST_BYTES, NAME, issues);
    if (buffer === undefined) continue;
    const { text, valid } = decodeText(buffer, entry.path, NAME, issues);
    if (!valid) continue;
    const parsed = parsePackageJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, entry.path, issues);
    if (parsed === undefined) continue;
    let purl: string;
    try {
      purl = npmPurl(parsed.name, parsed.version);
    } catch (error) {
      issues.push({ code: 'PARSE_FAILED', message: `invalid package name: ${describeError(error)}`, path: entry.path, source: NAME });
      continue;
    }
    packages.push({
      type: 'npm',
      id: packageId(purl, entry.path),
      name: parsed.name,
      version: parsed.version,
      purl,
      cpes: [],
      licenses: parsed.licenses,
      locations: [locationOf(context, entry.path)],
      foundBy: NAME,
    });
  }
  return { packages, relationships: [], issues };
}

export const npmCataloger: Cataloger = {
  name: NAME,
  kind: 'language',
  globs: ['**/node_modules/**/package.json'],
  catalog,
};
