/** @module catalog/apk/apk-cataloger — Alpine packages from the apk installed database (/lib/apk/db/installed). */
import { isUtf8 } from 'node:buffer';
import { describeError, isDistillError, type Issue } from '../../errors.js';
import type { ApkPackage } from '../../sbom/package.js';
import { apkPurl } from '../../sbom/purl.js';
import type { CatalogContext, CatalogResult, Cataloger } from '../cataloger.js';

const NAME = 'apk';
export const APK_INSTALLED = '/lib/apk/db/installed';
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_ISSUES = 50;

/** One package record of the installed db, with the fields the cataloger uses. */
export interface ApkRecord {
  /** 1-based line of the record's first field. */
  line: number;
  name?: string;
  version?: string;
  architecture?: string;
  origin?: string;
  license?: string;
  maintainer?: string;
  /** `C:` — `Q1` + base64 SHA-1 of the package's control data. */
  checksum?: string;
  /** Absolute paths from `F:` (directory) + `R:` (file) lines. */
  files: string[];
}

/**
 * Parses the apk installed database: records separated by blank lines, each line `<letter>:<value>`
 * (apk-tools' "package database" format). `F:` sets the current directory (relative to `/`), each following
 * `R:` names a file in it. Unknown letters (`Z:` file checksum, `a:`/`M:` modes, `t:` build time, …) are skipped.
 */
export function parseApkInstalled(content: Buffer, path = APK_INSTALLED): { records: ApkRecord[]; issues: Issue[] } {
  const issues: Issue[] = [];
  if (!isUtf8(content)) issues.push({ code: 'INVALID_UTF8', message: 'apk database is not valid UTF-8; invalid bytes were replaced', path });
  const text = content.toString('utf8');
  const records: ApkRecord[] = [];
  let current: ApkRecord | undefined;
  let dir = '';
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let next = text.indexOf('\n', pos);
    if (next === -1) next = text.length;
    let line = text.slice(pos, next);
    pos = next + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') {
      if (current !== undefined) records.push(current);
      current = undefined;
      dir = '';
      continue;
    }
    if (line.length < 2 || line[1] !== ':') {
      if (issues.length < MAX_ISSUES) issues.push({ code: 'PARSE_FAILED', message: `line ${lineNo}: expected "X:value"`, path });
      continue;
    }
    current ??= { line: lineNo, files: [] };
    const value = line.slice(2);
    switch (line[0]) {
      case 'P': current.name = value; break;
      case 'V': current.version = value; break;
      case 'A': current.architecture = value; break;
      case 'o': current.origin = value; break;
      case 'L': current.license = value; break;
      case 'm': current.maintainer = value; break;
      case 'C': current.checksum = value; break;
      case 'F': dir = value.replace(/^\/+|\/+$/g, ''); break;
      case 'R': current.files.push(dir === '' ? `/${value}` : `/${dir}/${value}`); break;
      default: break;
    }
  }
  if (current !== undefined) records.push(current);
  return { records, issues };
}

export const apkCataloger: Cataloger = {
  name: NAME,
  kind: 'os',
  globs: [APK_INSTALLED],
  async catalog(context: CatalogContext): Promise<CatalogResult> {
    const { resolver } = context;
    const issues: Issue[] = [];
    if (resolver.stat(APK_INSTALLED)?.type !== 'file') return { packages: [], relationships: [], issues };
    let content: Buffer;
    try {
      content = await resolver.readFile(APK_INSTALLED, { maxBytes: MAX_BYTES });
    } catch (error) {
      const code = isDistillError(error, 'FILE_TOO_LARGE') ? 'FILE_TOO_LARGE' : 'UNREADABLE';
      issues.push({ code, message: `cannot read ${APK_INSTALLED}: ${describeError(error)}`, path: APK_INSTALLED });
      return { packages: [], relationships: [], issues };
    }
    const parsed = parseApkInstalled(content);
    issues.push(...parsed.issues);
    const layerDigest = context.layerDigestOf(APK_INSTALLED);
    const packages: ApkPackage[] = [];
    for (const record of parsed.records) {
      if (!record.name || !record.version) {
        const missing = [record.name ? undefined : 'P (name)', record.version ? undefined : 'V (version)'].filter(Boolean).join(' and ');
        issues.push({ code: 'FIELD_MISSING', message: `record at line ${record.line} has no ${missing}; skipped`, path: APK_INSTALLED });
        continue;
      }
      const architecture = record.architecture ?? '';
      const purl = apkPurl({ name: record.name, version: record.version, ...(architecture ? { architecture } : {}), ...(context.release ? { release: context.release } : {}) });
      packages.push({
        type: 'apk',
        id: `${purl}#${APK_INSTALLED}`,
        name: record.name,
        version: record.version,
        purl,
        cpes: [],
        // Kept as declared: recent Alpine writes SPDX expressions, older releases space-separated names.
        licenses: record.license ? [record.license] : [],
        locations: [layerDigest === undefined ? { path: APK_INSTALLED } : { path: APK_INSTALLED, layerDigest }],
        foundBy: NAME,
        architecture,
        origin: record.origin ?? record.name,
        files: record.files,
      });
    }
    return { packages, relationships: [], issues };
  },
};
