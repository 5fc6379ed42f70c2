/** @module sbom/formats/cyclonedx — CycloneDX 1.6 JSON writer (via @cyclonedx/cyclonedx-library) and a CycloneDX 1.2–1.6 JSON reader. */
import { createHash } from 'node:crypto';
// The library's parts by subpath: its root also loads the validators and contrib builders (~80 ms at start-up).
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import * as Spec from '@cyclonedx/cyclonedx-library/Spec';
import type { Issue } from '../../errors.js';
import type { LinuxRelease, Package, Relationship, Sbom, SbomSubject } from '../package.js';
import { assignPackageIds, buildRelationships, SUBJECT_ID } from '../package-id.js';
import { classifyLicense } from './licenses.js';
import {
  distroProperties,
  IssueCollector,
  packageFromFields,
  packageProperties,
  PropertyBag,
  releaseFromProperties,
  subjectProperties,
  type Property,
} from './properties.js';

const DISTRO_REF = 'distro';

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Deterministic package order for every format: purl, then id. */
export function sortPackages(packages: readonly Package[]): Package[] {
  return [...packages].sort((a, b) => compare(a.purl, b.purl) || compare(a.id, b.id));
}

function addProperties(repo: Models.PropertyRepository, props: Property[]): void {
  for (const [name, value] of props) repo.add(new Models.Property(name, value));
}

function licenseRepository(licenses: readonly string[]): Models.LicenseRepository {
  const repo = new Models.LicenseRepository();
  const kinds = licenses.map(classifyLicense);
  // CycloneDX allows one expression, or any number of id/name licenses — not both: extra expressions become names.
  const single = kinds.length === 1;
  for (const kind of kinds) {
    if (kind.kind === 'id') repo.add(new Models.SpdxLicense(kind.id));
    else if (kind.kind === 'expression' && single) repo.add(new Models.LicenseExpression(kind.expression));
    else repo.add(new Models.NamedLicense(kind.kind === 'expression' ? kind.expression : kind.name));
  }
  return repo;
}

function componentFor(pkg: Package): Models.Component {
  const type = pkg.type === 'go-module' && pkg.main ? Enums.ComponentType.Application : Enums.ComponentType.Library;
  const name = pkg.type === 'java-archive' ? (pkg.artifactId ?? pkg.name) : pkg.name;
  const component = new Models.Component(type, name, {
    bomRef: pkg.id,
    version: pkg.version,
    purl: pkg.purl,
    licenses: licenseRepository(pkg.licenses),
  });
  if (pkg.type === 'java-archive' && pkg.groupId) component.group = pkg.groupId;
  if (pkg.cpes[0]) component.cpe = pkg.cpes[0];
  if (pkg.type === 'deb' && pkg.maintainer) component.supplier = new Models.OrganizationalEntity({ name: pkg.maintainer });
  addProperties(component.properties, packageProperties(pkg));
  return component;
}

function subjectComponent(subject: SbomSubject): Models.Component {
  const component = new Models.Component(Enums.ComponentType.Container, subject.reference || 'unknown', { bomRef: SUBJECT_ID });
  if (subject.digest) component.version = subject.digest;
  addProperties(component.properties, subjectProperties(subject));
  return component;
}

function distroComponent(release: LinuxRelease): Models.Component {
  const component = new Models.Component(Enums.ComponentType.OperatingSystem, release.id, { bomRef: DISTRO_REF });
  const version = release.precise ?? release.versionId;
  if (version) component.version = version;
  addProperties(component.properties, distroProperties(release));
  return component;
}

function uuidFromHash(hex: string): string {
  // RFC 9562 version 8 (custom) layout over a SHA-256 of the content.
  const h = hex.slice(0, 32).split('');
  h[12] = '8';
  h[16] = ((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

export interface CycloneDxEncodeOptions {
  /** JSON indentation (default 2). */
  space?: number;
  /** CycloneDX version to write (default 1.6); 1.4 and 1.5 for consumers that lag behind. */
  specVersion?: '1.4' | '1.5' | '1.6';
}

const SPECS = { '1.4': Spec.Spec1dot4, '1.5': Spec.Spec1dot5, '1.6': Spec.Spec1dot6 } as const;

/**
 * Encodes an SBOM as CycloneDX 1.6 JSON. Components are sorted by purl, the image is metadata.component
 * (type container, name = reference, version = manifest digest), the distro an operating-system component,
 * `contains` and `depends-on` relationships become `dependencies`; `built-from` is carried by the
 * `distill:source:*` properties (CycloneDX has no built-from edge). serialNumber is a UUID derived from the
 * SHA-256 of the rest of the document, so equal input gives byte-identical output.
 */
export function encodeCycloneDx(sbom: Sbom, options: CycloneDxEncodeOptions = {}): string {
  return serializeCycloneDxBom(buildCycloneDxBom(sbom).bom, options);
}

/**
 * The CycloneDX model of an SBOM before serialisation, for documents that add to it (a scan report adds
 * `vulnerabilities`); `components` maps each package id to its component (bom-ref = package id).
 */
export function buildCycloneDxBom(sbom: Sbom): { bom: Models.Bom; components: ReadonlyMap<string, Models.Component> } {
  const packages = sortPackages(sbom.packages);
  const bom = new Models.Bom();
  const timestamp = new Date(sbom.createdAt);
  if (!Number.isNaN(timestamp.getTime())) bom.metadata.timestamp = timestamp;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, sbom.tool.name, sbom.tool.version ? { version: sbom.tool.version } : {}),
  );
  const subject = subjectComponent(sbom.subject);
  bom.metadata.component = subject;

  const byId = new Map<string, Models.Component>();
  if (sbom.distro) {
    const distro = distroComponent(sbom.distro);
    bom.components.add(distro);
    subject.dependencies.add(distro.bomRef);
  }
  for (const pkg of packages) {
    const component = componentFor(pkg);
    byId.set(pkg.id, component);
    bom.components.add(component);
  }
  const { relationships } = buildRelationships(sbom);
  for (const rel of relationships) {
    const to = byId.get(rel.to);
    if (!to) continue;
    if (rel.type === 'contains' && rel.from === SUBJECT_ID) subject.dependencies.add(to.bomRef);
    else if (rel.type === 'depends-on') byId.get(rel.from)?.dependencies.add(to.bomRef);
  }
  return { bom, components: byId };
}

/** Serialises a Bom in insertion order (no library sorting) with a serialNumber derived from the content. */
export function serializeCycloneDxBom(bom: Models.Bom, options: CycloneDxEncodeOptions = {}): string {
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(SPECS[options.specVersion ?? '1.6']));
  const space = options.space ?? 2;
  // The lists are already in a deterministic order; the library's own sorting would reorder licenses.
  const unnumbered = serializer.serialize(bom, { sortLists: false, space });
  const serialNumber = `urn:uuid:${uuidFromHash(createHash('sha256').update(unnumbered).digest('hex'))}`;
  // Re-serialising through the library would normalise everything twice; insert the field where the
  // library puts it (after "version") instead.
  const document = JSON.parse(unnumbered) as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    ordered[key] = value;
    if (key === 'version') ordered.serialNumber = serialNumber;
  }
  return JSON.stringify(ordered, null, space);
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function propsOf(component: Json): Property[] {
  const props = component.properties;
  if (!Array.isArray(props)) return [];
  const out: Property[] = [];
  for (const p of props) {
    if (isObject(p) && typeof p.name === 'string' && typeof p.value === 'string') out.push([p.name, p.value]);
  }
  return out;
}

function licensesOf(component: Json): string[] {
  const list = component.licenses;
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const entry of list) {
    if (!isObject(entry)) continue;
    const expression = str(entry.expression);
    if (expression) out.push(expression);
    const license = entry.license;
    if (isObject(license)) {
      const value = str(license.id) ?? str(license.name);
      if (value) out.push(value);
    }
  }
  return out;
}

const MAX_DEPTH = 16;
const MAX_COMPONENTS = 500_000;

/** Decodes a parsed CycloneDX JSON document (1.2–1.6; distill, Trivy and Syft outputs) into an Sbom. */
export function decodeCycloneDx(doc: Json): Sbom {
  const issues = new IssueCollector();
  const spec = str(doc.specVersion);
  if (!spec || !/^1\.[2-6]$/.test(spec)) {
    issues.add({ code: 'UNSUPPORTED', message: `CycloneDX specVersion ${JSON.stringify(doc.specVersion ?? null).slice(0, 40)} is not 1.2–1.6; reading it as 1.6`, source: 'cyclonedx' });
  }
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const subject: SbomSubject = { reference: '', transport: 'sbom', layers: [], tags: [] };
  const refToId = new Map<string, string>();
  const main = isObject(metadata.component) ? metadata.component : undefined;
  if (main) {
    const bag = new PropertyBag(propsOf(main));
    subject.reference = str(main.name) ?? '';
    const version = str(main.version);
    const repoDigest = bag.get('aquasecurity:trivy:RepoDigest');
    if (version && /^[a-z0-9]+:[0-9a-f]{32,}$/.test(version)) subject.digest = version;
    else if (repoDigest?.includes('@')) subject.digest = repoDigest.slice(repoDigest.lastIndexOf('@') + 1);
    subject.transport = bag.get('distill:transport') ?? subject.transport;
    const config = bag.get('distill:configDigest') ?? bag.get('aquasecurity:trivy:ImageID');
    if (config) subject.configDigest = config;
    const layers = bag.indexed('distill:layer:');
    subject.layers = layers.length > 0 ? layers : bag.all('aquasecurity:trivy:DiffID');
    subject.tags = [...bag.all('distill:tag'), ...bag.all('aquasecurity:trivy:RepoTag')];
    const platform = bag.get('distill:platform')?.split('/');
    if (platform && platform[0] && platform[1]) {
      subject.platform = { os: platform[0], architecture: platform[1], ...(platform[2] ? { variant: platform[2] } : {}) };
    }
    const ref = str(main['bom-ref']);
    if (ref) refToId.set(ref, SUBJECT_ID);
  } else {
    issues.add({ code: 'FIELD_MISSING', message: 'metadata.component is missing: the scanned subject is unknown', source: 'cyclonedx' });
  }

  let distro: LinuxRelease | undefined;
  const packages: Array<{ pkg: Package; ref: string | undefined }> = [];
  let seen = 0;
  const walk = (list: unknown, depth: number): void => {
    if (!Array.isArray(list)) return;
    if (depth > MAX_DEPTH) {
      issues.add({ code: 'NESTING_TOO_DEEP', message: `components nested deeper than ${MAX_DEPTH} levels were skipped`, source: 'cyclonedx' });
      return;
    }
    for (const component of list) {
      if (++seen > MAX_COMPONENTS) {
        if (seen === MAX_COMPONENTS + 1) issues.add({ code: 'FILE_TOO_LARGE', message: `more than ${MAX_COMPONENTS} components; the rest were skipped`, source: 'cyclonedx' });
        return;
      }
      if (!isObject(component)) {
        issues.add({ code: 'PARSE_FAILED', message: 'a component is not an object', source: 'cyclonedx' }, 'not-object');
        continue;
      }
      const bag = new PropertyBag(propsOf(component));
      const ref = str(component['bom-ref']);
      if (component.type === 'operating-system') {
        if (!distro && typeof component.name === 'string') {
          distro = releaseFromProperties(component.name, str(component.version), bag);
          if (ref) refToId.set(ref, DISTRO_REF);
        }
      } else if (typeof component.purl !== 'string' || component.purl === '') {
        issues.add({ code: 'FIELD_MISSING', message: `component "${String(component.name ?? '?').slice(0, 100)}" has no purl; skipped`, source: 'cyclonedx' }, 'no-purl');
      } else {
        const supplier = isObject(component.supplier) ? str(component.supplier.name) : str(component.author);
        const result = packageFromFields({
          purl: component.purl,
          ...(str(component.name) ? { name: str(component.name) as string } : {}),
          ...(str(component.version) ? { version: str(component.version) as string } : {}),
          licenses: licensesOf(component),
          cpes: str(component.cpe) ? [str(component.cpe) as string] : [],
          ...(supplier ? { supplier } : {}),
          props: bag,
          defaultFoundBy: 'sbom-cyclonedx',
        });
        if ('code' in result) issues.add({ ...result, source: 'cyclonedx' }, result.code);
        else packages.push({ pkg: result, ref });
      }
      walk(component.components, depth + 1);
    }
  };
  walk(doc.components, 0);

  const withIds = assignPackageIds(packages.map((p) => p.pkg));
  withIds.forEach((pkg, i) => {
    const ref = packages[i]?.ref;
    if (ref && !refToId.has(ref)) refToId.set(ref, pkg.id);
  });
  const declared: Relationship[] = [];
  if (Array.isArray(doc.dependencies)) {
    for (const dep of doc.dependencies.slice(0, MAX_COMPONENTS)) {
      if (!isObject(dep) || typeof dep.ref !== 'string' || !Array.isArray(dep.dependsOn)) continue;
      const from = refToId.get(dep.ref);
      if (!from || from === SUBJECT_ID || from === DISTRO_REF) continue;
      for (const target of dep.dependsOn.slice(0, 100_000)) {
        const to = typeof target === 'string' ? refToId.get(target) : undefined;
        if (to && to !== SUBJECT_ID && to !== DISTRO_REF) declared.push({ from, to, type: 'depends-on' });
      }
    }
  }
  const tool = toolOf(metadata);
  const sbomBase = { packages: withIds, relationships: declared, ...(distro ? { distro } : {}) };
  const { sourcePackages, relationships } = buildRelationships(sbomBase);
  const timestamp = str(metadata.timestamp);
  if (!timestamp) issues.add({ code: 'FIELD_MISSING', message: 'metadata.timestamp is missing', source: 'cyclonedx' });
  const issueList: Issue[] = issues.finish();
  return {
    subject,
    ...(distro ? { distro } : {}),
    packages: withIds,
    sourcePackages,
    relationships,
    issues: issueList,
    createdAt: timestamp ?? '',
    tool,
  };
}

function toolOf(metadata: Json): { name: string; version: string } {
  const tools = metadata.tools;
  const candidates: unknown[] = Array.isArray(tools) ? tools : isObject(tools) && Array.isArray(tools.components) ? tools.components : [];
  for (const tool of candidates) {
    if (isObject(tool) && typeof tool.name === 'string') return { name: tool.name, version: str(tool.version) ?? '' };
  }
  return { name: 'unknown', version: '' };
}
