/** @module sbom/formats/native — distill's own JSON: the Sbom document as is, with a schemaVersion and sorted keys. */
import { DistillError } from '../../errors.js';
import type { Package, PackageType, Sbom } from '../package.js';
import { IssueCollector } from './properties.js';

/** Bumped only on incompatible changes to the Sbom model. */
export const NATIVE_SCHEMA_VERSION = '1';

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export interface NativeEncodeOptions {
  space?: number;
}

/** `{"schemaVersion":"1", ...sbom}` with every object's keys sorted (arrays keep their order). */
export function encodeNative(sbom: Sbom, options: NativeEncodeOptions = {}): string {
  const body = sortKeys(sbom) as Record<string, unknown>;
  return JSON.stringify({ schemaVersion: NATIVE_SCHEMA_VERSION, ...body }, null, options.space ?? 2);
}

const TYPES = new Set<PackageType>(['deb', 'apk', 'npm', 'python', 'go-module', 'java-archive']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads native JSON back; malformed packages become issues, a malformed document an SBOM_INVALID error. */
export function decodeNative(doc: Record<string, unknown>): Sbom {
  if (doc.schemaVersion !== NATIVE_SCHEMA_VERSION) {
    throw new DistillError('SBOM_INVALID', `native SBOM schemaVersion ${JSON.stringify(doc.schemaVersion ?? null).slice(0, 20)} is not supported`, {
      subject: 'schemaVersion',
      hint: `this distill reads schemaVersion "${NATIVE_SCHEMA_VERSION}"; re-generate the SBOM with this version`,
    });
  }
  if (!isObject(doc.subject) || !Array.isArray(doc.packages)) {
    throw new DistillError('SBOM_INVALID', 'native SBOM lacks "subject" or "packages"', { subject: 'subject', hint: 'the file is not a complete distill SBOM' });
  }
  const issues = new IssueCollector();
  const packages: Package[] = [];
  for (const raw of doc.packages) {
    const ok =
      isObject(raw) &&
      TYPES.has(raw.type as PackageType) &&
      typeof raw.name === 'string' &&
      typeof raw.version === 'string' &&
      typeof raw.purl === 'string' &&
      typeof raw.id === 'string' &&
      Array.isArray(raw.licenses) &&
      Array.isArray(raw.cpes) &&
      Array.isArray(raw.locations);
    if (!ok) {
      issues.add({ code: 'FIELD_MISSING', message: 'a package lacks type, id, name, version, purl, licenses, cpes or locations; skipped', source: 'native' }, 'bad-package');
      continue;
    }
    packages.push(raw as unknown as Package);
  }
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const subject = doc.subject as Record<string, unknown>;
  const tool = isObject(doc.tool) ? doc.tool : {};
  const sbom: Sbom = {
    subject: {
      ...(subject as object),
      reference: typeof subject.reference === 'string' ? subject.reference : '',
      transport: typeof subject.transport === 'string' ? subject.transport : 'sbom',
      layers: arr(subject.layers).filter((l): l is string => typeof l === 'string'),
      tags: arr(subject.tags).filter((l): l is string => typeof l === 'string'),
    },
    packages,
    sourcePackages: arr(doc.sourcePackages) as Sbom['sourcePackages'],
    relationships: arr(doc.relationships) as Sbom['relationships'],
    issues: [...(arr(doc.issues) as Sbom['issues']), ...issues.finish()],
    createdAt: typeof doc.createdAt === 'string' ? doc.createdAt : '',
    tool: { name: typeof tool.name === 'string' ? tool.name : 'unknown', version: typeof tool.version === 'string' ? tool.version : '' },
  };
  if (isObject(doc.distro)) sbom.distro = doc.distro as unknown as Sbom['distro'];
  return sbom;
}
