/** @module catalog/java/java-cataloger — Java archives (jar, war, ear, jpi, hpi): pom.properties, MANIFEST.MF, file names, nested archives. */
import { PackageURL } from 'packageurl-js';
import type { Issue } from '../../errors.js';
import { describeError } from '../../errors.js';
import { baseName } from '../../filesystem/file-entry.js';
import type { JavaPackage } from '../../sbom/package.js';
import type { Cataloger, CatalogContext, CatalogResult } from '../cataloger.js';
import { contentEntries, locationOf, packageId, readEvidenceBatches } from '../language-util.js';
import { walkZip, ZipEntryTooLargeError } from './zip-reader.js';

const NAME = 'java-archive';
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
/** Inflated bytes of all nested archives under one outer archive. */
const MAX_NESTED_TOTAL_BYTES = 512 * 1024 * 1024;
const MAX_METADATA_BYTES = 1024 * 1024;
/** Depth of the outermost archive is 0: `a.war!/b.jar` is 1. */
export const MAX_NESTING_DEPTH = 4;

const ARCHIVE_NAME = /\.(?:jar|war|ear|jpi|hpi)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;

export interface PomProperties {
  groupId: string;
  artifactId: string;
  version: string;
}

/** Parses a java.util.Properties file far enough for pom.properties (`key=value`, `key: value`, `#` comments). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match !== null) out.set(match[1] as string, (match[2] as string).trim());
  }
  return out;
}

/** The main section of a JAR manifest: `Name: value` headers, continuation lines begin with one space. */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (out.size > 0) break;
      continue;
    }
    if (line.startsWith(' ') && lastKey !== undefined) {
      out.set(lastKey, (out.get(lastKey) ?? '') + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim();
    out.set(lastKey, line.slice(colon + 1).trim());
  }
  return out;
}

/** `commons-lang3-3.12.0.jar` → commons-lang3 / 3.12.0: the version starts at the first `-<digit>`. */
export function nameVersionFromFileName(fileName: string): { name: string; version?: string } {
  const stem = fileName.replace(ARCHIVE_NAME, '');
  const match = /^(.+?)-(\d[\w.+~-]*)$/.exec(stem);
  if (match === null) return { name: stem };
  return { name: match[1] as string, version: match[2] as string };
}

/** Maven purls need a namespace: without a known groupId the artifactId stands in (as Syft does). */
export function mavenPurl(groupId: string | undefined, artifactId: string, version: string): string {
  const namespace = groupId === undefined || groupId === '' ? artifactId : groupId;
  return new PackageURL('maven', namespace, artifactId, version, undefined, undefined).toString();
}

/** Bundle-SymbolicName may carry directives: `org.foo.bar;singleton:=true`. */
function symbolicName(value: string | undefined): string | undefined {
  const name = value?.split(';')[0]?.trim();
  return name === '' ? undefined : name;
}

interface Budget {
  remaining: number;
}

interface ArchiveContext {
  context: CatalogContext;
  evidencePath: string;
  issues: Issue[];
  packages: JavaPackage[];
  ids: Set<string>;
  budget: Budget;
}

function emit(ctx: ArchiveContext, virtualPath: string, artifactId: string, version: string, groupId: string | undefined, licenses: string[]): void {
  let purl: string;
  try {
    purl = mavenPurl(groupId, artifactId, version);
  } catch (error) {
    ctx.issues.push({ code: 'PARSE_FAILED', message: `${virtualPath}: invalid coordinates: ${describeError(error)}`, path: ctx.evidencePath, source: NAME });
    return;
  }
  const id = packageId(purl, virtualPath);
  if (ctx.ids.has(id)) return;
  ctx.ids.add(id);
  const pkg: JavaPackage = {
    type: 'java-archive',
    id,
    name: artifactId,
    version,
    purl,
    cpes: [],
    licenses,
    locations: [locationOf(ctx.context, ctx.evidencePath)],
    foundBy: NAME,
    virtualPath,
  };
  if (groupId !== undefined && groupId !== '') pkg.groupId = groupId;
  pkg.artifactId = artifactId;
  ctx.packages.push(pkg);
}

/** Catalogs one archive held in memory, then the archives nested in it (depth-first, bounded). */
async function scanArchive(ctx: ArchiveContext, buffer: Buffer, virtualPath: string, depth: number): Promise<void> {
  let manifest: Map<string, string> | undefined;
  const poms: PomProperties[] = [];
  const nested: Array<{ name: string; data: Buffer }> = [];
  const issue = (code: Issue['code'], message: string): void => {
    ctx.issues.push({ code, message: `${virtualPath}: ${message}`, path: ctx.evidencePath, source: NAME });
  };
  try {
    await walkZip(
      buffer,
      (entry) => {
        if (entry.name.toUpperCase() === 'META-INF/MANIFEST.MF' || POM_PROPERTIES.test(entry.name)) {
          if (entry.uncompressedSize > MAX_METADATA_BYTES) {
            issue('FILE_TOO_LARGE', `${entry.name} declares ${entry.uncompressedSize} bytes`);
            return { read: false };
          }
          return { read: true, maxBytes: MAX_METADATA_BYTES };
        }
        if (ARCHIVE_NAME.test(entry.name)) {
          if (depth + 1 > MAX_NESTING_DEPTH) {
            issue('NESTING_TOO_DEEP', `${entry.name} is nested deeper than ${MAX_NESTING_DEPTH} archives`);
            return { read: false };
          }
          if (entry.uncompressedSize > ctx.budget.remaining) {
            issue('FILE_TOO_LARGE', `nested ${entry.name} declares ${entry.uncompressedSize} bytes, over the remaining budget of ${ctx.budget.remaining}`);
            return { read: false };
          }
          ctx.budget.remaining -= entry.uncompressedSize;
          return { read: true, maxBytes: entry.uncompressedSize };
        }
        return { read: false };
      },
      async (entry, data) => {
        if (ARCHIVE_NAME.test(entry.name)) {
          nested.push({ name: entry.name, data });
        } else if (entry.name.toUpperCase() === 'META-INF/MANIFEST.MF') {
          manifest = parseManifest(data.toString('utf8'));
        } else {
          const props = parseProperties(data.toString('utf8'));
          const groupId = props.get('groupId') ?? '';
          const artifactId = props.get('artifactId') ?? '';
          const version = props.get('version') ?? '';
          if (artifactId === '' || version === '') issue('FIELD_MISSING', `${entry.name} lacks artifactId or version`);
          else poms.push({ groupId, artifactId, version });
        }
      },
    );
  } catch (error) {
    const code = error instanceof ZipEntryTooLargeError ? 'FILE_TOO_LARGE' : 'PARSE_FAILED';
    issue(code, `not a readable zip archive: ${describeError(error)}`);
    // A broken archive proves nothing about its name; archives read out of it before the break still count.
    for (const inner of nested) await scanArchive(ctx, inner.data, `${virtualPath}!/${inner.name}`, depth + 1);
    return;
  }

  const fromName = nameVersionFromFileName(baseName(virtualPath));
  const licenses = manifest?.get('Bundle-License') ? [(manifest.get('Bundle-License') as string).split(';')[0]!.trim()] : [];
  if (poms.length > 0) {
    // Each pom.properties names one artifact: the archive's own, plus any shaded into it.
    for (const pom of poms) emit(ctx, virtualPath, pom.artifactId, pom.version, pom.groupId, licenses);
  } else if (manifest !== undefined || fromName.version !== undefined) {
    const m = manifest ?? new Map<string, string>();
    const version = m.get('Implementation-Version') ?? m.get('Bundle-Version') ?? m.get('Specification-Version') ?? fromName.version;
    // The file name is the artifact id in Maven's own layout; manifest titles are display names.
    const artifactId = fromName.name !== '' ? fromName.name : symbolicName(m.get('Bundle-SymbolicName')) ?? m.get('Implementation-Title') ?? '';
    const groupId = m.get('Implementation-Vendor-Id') ?? m.get('Automatic-Module-Name')?.replace(/\.[^.]+$/, '');
    if (version === undefined || version === '' || artifactId === '') issue('FIELD_MISSING', 'no version in pom.properties, MANIFEST.MF or the file name');
    else emit(ctx, virtualPath, artifactId, version, groupId, licenses);
  } else {
    issue('FIELD_MISSING', 'no pom.properties, MANIFEST.MF or versioned file name');
  }

  for (const inner of nested) await scanArchive(ctx, inner.data, `${virtualPath}!/${inner.name}`, depth + 1);
}

async function catalog(context: CatalogContext): Promise<CatalogResult> {
  const packages: JavaPackage[] = [];
  const issues: Issue[] = [];
  for await (const { entry, buffer } of readEvidenceBatches(context, contentEntries(context, javaCataloger.globs), MAX_ARCHIVE_BYTES, NAME, issues)) {
    const ctx: ArchiveContext = { context, evidencePath: entry.path, issues, packages, ids: new Set(), budget: { remaining: MAX_NESTED_TOTAL_BYTES } };
    await scanArchive(ctx, buffer, entry.path, 0);
  }
  return { packages, relationships: [], issues };
}

export const javaCataloger: Cataloger = {
  name: NAME,
  kind: 'language',
  globs: ['**/*.{jar,war,ear,jpi,hpi}'],
  catalog,
};
