/** @module sbom/formats/spdx — SPDX 2.3 JSON writer and SPDX 2.2/2.3 JSON reader (hand-written: the format is small). */
import { createHash } from 'node:crypto';
import type { LinuxRelease, Package, Relationship, Sbom, SbomSubject, SourcePackage } from '../package.js';
import { assignPackageIds, buildRelationships, SUBJECT_ID } from '../package-id.js';
import { purlQualifier, tryParsePurl } from '../purl.js';
import { sortPackages } from './cyclonedx.js';
import { classifyLicense, isSpdxExpression, isSpdxLicenseId, splitConjunction } from './licenses.js';
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

/** SPDX ids allow only letters, digits, `.` and `-` after `SPDXRef-`. */
export function sanitizeSpdxId(value: string): string {
  return value.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

function hash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(part).update('\0');
  return h.digest('hex');
}

/** SPDX timestamps are `YYYY-MM-DDThh:mm:ssZ` (no fractions). Unparseable input gives the epoch. */
function spdxTime(iso: string): string {
  const date = new Date(iso);
  const valid = Number.isNaN(date.getTime()) ? new Date(0) : date;
  return `${valid.toISOString().slice(0, 19)}Z`;
}

interface LicenseRefs {
  byName: Map<string, string>;
  used: Set<string>;
}

/** A declared-license list as one SPDX expression (`A AND (B OR C) AND LicenseRef-x`), NOASSERTION if empty. */
function licenseExpression(licenses: readonly string[], refs: LicenseRefs): string {
  if (licenses.length === 0) return 'NOASSERTION';
  const operands = licenses.map((value) => {
    const kind = classifyLicense(value);
    if (kind.kind === 'id') return kind.id;
    if (kind.kind === 'expression') return licenses.length > 1 ? `(${kind.expression})` : kind.expression;
    let ref = refs.byName.get(kind.name);
    if (!ref) {
      ref = `LicenseRef-${sanitizeSpdxId(kind.name)}`;
      if (refs.used.has(ref)) ref = `${ref}-${hash(kind.name).slice(0, 8)}`;
      refs.byName.set(kind.name, ref);
      refs.used.add(ref);
    }
    return ref;
  });
  return operands.join(' AND ');
}

function annotations(props: Property[], created: string, tool: string): Json[] {
  return props.map(([name, value]) => ({ annotationDate: created, annotationType: 'OTHER', annotator: `Tool: ${tool}`, comment: `${name}=${value}` }));
}

type Json = Record<string, unknown>;

function spdxSupplier(maintainer: string | undefined): string {
  if (!maintainer) return 'NOASSERTION';
  // `Name <mail>` → `Person: Name (mail)`, the form Syft writes for Debian maintainers.
  const match = /^\s*(.*?)\s*<([^>]*)>\s*$/.exec(maintainer);
  return match ? `Person: ${match[1]} (${match[2]})` : `Person: ${maintainer}`;
}

export interface SpdxEncodeOptions {
  space?: number;
}

/**
 * Encodes an SBOM as SPDX 2.3 JSON: the image is a CONTAINER package the document DESCRIBES, which CONTAINS
 * every package; deb/apk packages are GENERATED_FROM their SOURCE package; the distro is an
 * OPERATING_SYSTEM package. Packages carry purl (PACKAGE-MANAGER) and cpe23Type (SECURITY) externalRefs,
 * licenseDeclared (non-SPDX names become LicenseRef-… with hasExtractedLicensingInfos), licenseConcluded
 * NOASSERTION (distill does not conclude licenses), and the distill properties as OTHER annotations.
 * documentNamespace is derived from the content, so equal input gives byte-identical output.
 */
export function encodeSpdx(sbom: Sbom, options: SpdxEncodeOptions = {}): string {
  const created = spdxTime(sbom.createdAt);
  const tool = `${sbom.tool.name}-${sbom.tool.version || 'unknown'}`;
  const refs: LicenseRefs = { byName: new Map(), used: new Set() };
  const packages = sortPackages(sbom.packages);
  const { sourcePackages, relationships } = buildRelationships(sbom);
  const spdxIds = new Map<string, string>();
  const idFor = (kind: string, name: string, id: string): string => {
    const spdxId = `SPDXRef-${sanitizeSpdxId(kind)}-${sanitizeSpdxId(name)}-${id.replace(/^(pkg|src)-/, '')}`;
    spdxIds.set(id, spdxId);
    return spdxId;
  };
  const imageId = 'SPDXRef-DocumentRoot-Image';
  spdxIds.set(SUBJECT_ID, imageId);

  const subject = sbom.subject;
  const out: Json[] = [];
  const image: Json = {
    name: subject.reference || 'unknown',
    SPDXID: imageId,
    ...(subject.digest ? { versionInfo: subject.digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
  };
  if (subject.digest && /^sha256:[0-9a-f]{64}$/.test(subject.digest)) {
    image.checksums = [{ algorithm: 'SHA256', checksumValue: subject.digest.slice(7) }];
  }
  const subjectProps = subjectProperties(subject);
  if (subjectProps.length > 0) image.annotations = annotations(subjectProps, created, tool);
  out.push(image);

  let distroId: string | undefined;
  if (sbom.distro) {
    distroId = `SPDXRef-OperatingSystem-${sanitizeSpdxId(sbom.distro.id)}`;
    const version = sbom.distro.precise ?? sbom.distro.versionId;
    const props = distroProperties(sbom.distro);
    out.push({
      name: sbom.distro.id,
      SPDXID: distroId,
      ...(version ? { versionInfo: version } : {}),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING_SYSTEM',
      ...(props.length > 0 ? { annotations: annotations(props, created, tool) } : {}),
    });
  }

  for (const pkg of packages) {
    const externalRefs: Json[] = [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: pkg.purl }];
    for (const cpe of pkg.cpes) externalRefs.push({ referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: cpe });
    const props = packageProperties(pkg);
    out.push({
      name: pkg.type === 'java-archive' ? (pkg.artifactId ?? pkg.name) : pkg.name,
      SPDXID: idFor(`Package-${pkg.type}`, pkg.name, pkg.id),
      versionInfo: pkg.version,
      supplier: spdxSupplier(pkg.type === 'deb' ? pkg.maintainer : undefined),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      ...(pkg.locations.length > 0 ? { sourceInfo: `acquired package info from ${pkg.foundBy}: ${pkg.locations.map((l) => l.path).join(', ')}` } : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: licenseExpression(pkg.licenses, refs),
      copyrightText: 'NOASSERTION',
      externalRefs,
      primaryPackagePurpose: pkg.type === 'go-module' && pkg.main ? 'APPLICATION' : 'LIBRARY',
      ...(props.length > 0 ? { annotations: annotations(props, created, tool) } : {}),
    });
  }
  for (const source of sourcePackages) {
    out.push({
      name: source.name,
      SPDXID: idFor('SourcePackage', source.name, source.id),
      versionInfo: source.version,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: source.purl }],
      primaryPackagePurpose: 'SOURCE',
    });
  }

  const rels: Json[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId }];
  if (distroId) rels.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: distroId });
  const kinds: Record<Relationship['type'], string> = { contains: 'CONTAINS', 'built-from': 'GENERATED_FROM', 'depends-on': 'DEPENDS_ON' };
  for (const rel of relationships) {
    const from = spdxIds.get(rel.from);
    const to = spdxIds.get(rel.to);
    if (from && to) rels.push({ spdxElementId: from, relationshipType: kinds[rel.type], relatedSpdxElement: to });
  }

  const extracted = [...refs.byName].map(([name, licenseId]) => ({ licenseId, extractedText: name, name }));
  const body: Json = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: subject.reference || 'unknown',
    documentNamespace: '',
    creationInfo: { created, creators: [`Tool: ${tool}`] },
    packages: out,
    relationships: rels,
    ...(extracted.length > 0 ? { hasExtractedLicensingInfos: extracted } : {}),
  };
  const space = options.space ?? 2;
  const digest = hash(JSON.stringify(body));
  // The SPDX spec's recommended form: http(s)://spdx.org/spdxdocs/<name>-<uuid>; the uuid is content-derived.
  body.documentNamespace = `https://spdx.org/spdxdocs/distill-${sanitizeSpdxId(subject.reference || 'unknown').slice(0, 100)}-${digest.slice(0, 8)}-${digest.slice(8, 12)}-8${digest.slice(13, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
  return JSON.stringify(body, null, space);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function annotationProps(pkg: Json): Property[] {
  const out: Property[] = [];
  if (!Array.isArray(pkg.annotations)) return out;
  for (const a of pkg.annotations) {
    const comment = isObject(a) ? str(a.comment) : undefined;
    if (!comment) continue;
    const eq = comment.indexOf('=');
    if (eq > 0 && /^[a-z]+:/.test(comment)) out.push([comment.slice(0, eq), comment.slice(eq + 1)]);
  }
  return out;
}

function refsOf(pkg: Json): { purl?: string; cpes: string[] } {
  const result: { purl?: string; cpes: string[] } = { cpes: [] };
  if (!Array.isArray(pkg.externalRefs)) return result;
  for (const ref of pkg.externalRefs) {
    if (!isObject(ref)) continue;
    const type = str(ref.referenceType);
    const locator = str(ref.referenceLocator);
    if (!locator) continue;
    if (type === 'purl' && result.purl === undefined) result.purl = locator;
    else if (type === 'cpe23Type' || type === 'cpe22Type') result.cpes.push(locator);
  }
  return result;
}

function licensesFrom(pkg: Json, extracted: Map<string, string>): string[] {
  const declared = str(pkg.licenseDeclared);
  const concluded = str(pkg.licenseConcluded);
  const pick = [declared, concluded].find((v) => v !== undefined && v !== 'NOASSERTION' && v !== 'NONE' && v.trim() !== '');
  if (!pick) return [];
  const parts = isSpdxExpression(pick) || isSpdxLicenseId(pick) || pick.includes(' AND ') ? splitConjunction(pick) : [pick];
  return parts.map((part) => extracted.get(part) ?? part);
}

const MAX_PACKAGES = 500_000;

/** Decodes a parsed SPDX 2.2/2.3 JSON document (distill, Syft or Trivy output) into an Sbom. */
export function decodeSpdx(doc: Json): Sbom {
  const issues = new IssueCollector();
  const version = str(doc.spdxVersion);
  if (version !== 'SPDX-2.2' && version !== 'SPDX-2.3') {
    issues.add({ code: 'UNSUPPORTED', message: `spdxVersion ${JSON.stringify(doc.spdxVersion ?? null).slice(0, 40)} is not SPDX-2.2 or SPDX-2.3; reading it as 2.3`, source: 'spdx' });
  }
  const extracted = new Map<string, string>();
  if (Array.isArray(doc.hasExtractedLicensingInfos)) {
    for (const info of doc.hasExtractedLicensingInfos.slice(0, 100_000)) {
      if (!isObject(info)) continue;
      const id = str(info.licenseId);
      const name = str(info.name) ?? str(info.extractedText);
      if (id && name) extracted.set(id, name);
    }
  }
  const creation = isObject(doc.creationInfo) ? doc.creationInfo : {};
  const createdAt = str(creation.created) ?? '';
  if (!createdAt) issues.add({ code: 'FIELD_MISSING', message: 'creationInfo.created is missing', source: 'spdx' });
  const tool = { name: 'unknown', version: '' };
  if (Array.isArray(creation.creators)) {
    for (const creator of creation.creators) {
      const m = typeof creator === 'string' ? /^Tool:\s*(.+?)(?:-([0-9][^\s-]*|unknown|dev))?$/.exec(creator) : null;
      if (m) {
        tool.name = m[1] as string;
        tool.version = m[2] === 'unknown' ? '' : (m[2] ?? '');
        break;
      }
    }
  }

  const rawRelationships = Array.isArray(doc.relationships) ? doc.relationships.slice(0, 4 * MAX_PACKAGES).filter(isObject) : [];
  const describes = new Set<string>();
  if (Array.isArray(doc.documentDescribes)) for (const d of doc.documentDescribes) if (typeof d === 'string') describes.add(d);
  for (const r of rawRelationships) {
    if (r.relationshipType === 'DESCRIBES' && r.spdxElementId === 'SPDXRef-DOCUMENT' && typeof r.relatedSpdxElement === 'string') describes.add(r.relatedSpdxElement);
  }

  const list = Array.isArray(doc.packages) ? doc.packages : [];
  if (!Array.isArray(doc.packages)) issues.add({ code: 'FIELD_MISSING', message: 'the document has no packages array', source: 'spdx' });
  if (list.length > MAX_PACKAGES) issues.add({ code: 'FILE_TOO_LARGE', message: `more than ${MAX_PACKAGES} packages; the rest were skipped`, source: 'spdx' });
  const subject: SbomSubject = { reference: '', transport: 'sbom', layers: [], tags: [] };
  let distro: LinuxRelease | undefined;
  const sources = new Map<string, { name: string; version: string }>();
  const candidates: Array<{ spdxId: string; raw: Json; purl: string }> = [];
  let subjectId: string | undefined;
  for (const raw of list.slice(0, MAX_PACKAGES)) {
    if (!isObject(raw)) {
      issues.add({ code: 'PARSE_FAILED', message: 'a package is not an object', source: 'spdx' }, 'not-object');
      continue;
    }
    const spdxId = str(raw.SPDXID) ?? '';
    const purpose = str(raw.primaryPackagePurpose);
    const { purl } = refsOf(raw);
    const parts = purl ? tryParsePurl(purl) : undefined;
    if (purpose === 'CONTAINER' || (!subjectId && describes.has(spdxId) && !purl)) {
      subjectId = spdxId;
      const bag = new PropertyBag(annotationProps(raw));
      subject.reference = str(raw.name) ?? '';
      const v = str(raw.versionInfo);
      if (v && /^[a-z0-9]+:[0-9a-f]{32,}$/.test(v)) subject.digest = v;
      subject.transport = bag.get('distill:transport') ?? subject.transport;
      const config = bag.get('distill:configDigest');
      if (config) subject.configDigest = config;
      const attributions = attributionTexts(raw);
      subject.layers = bag.indexed('distill:layer:');
      if (subject.layers.length === 0) subject.layers = attributions.all('DiffID');
      subject.tags = [...bag.all('distill:tag'), ...attributions.all('RepoTag')];
      const imageId = attributions.get('ImageID');
      if (imageId && !subject.configDigest) subject.configDigest = imageId;
      const platform = bag.get('distill:platform')?.split('/');
      if (platform && platform[0] && platform[1]) subject.platform = { os: platform[0], architecture: platform[1], ...(platform[2] ? { variant: platform[2] } : {}) };
    } else if (purpose === 'OPERATING_SYSTEM' || purpose === 'OPERATING-SYSTEM') {
      if (!distro && typeof raw.name === 'string') distro = releaseFromProperties(raw.name, str(raw.versionInfo), new PropertyBag(annotationProps(raw)));
    } else if (purpose === 'SOURCE' || (parts && purlQualifier(parts, 'arch') === 'source')) {
      sources.set(spdxId, { name: str(raw.name) ?? parts?.name ?? '', version: str(raw.versionInfo) ?? '' });
    } else if (!purl) {
      issues.add({ code: 'FIELD_MISSING', message: `package "${String(raw.name ?? '?').slice(0, 100)}" has no purl externalRef; skipped`, source: 'spdx' }, 'no-purl');
    } else {
      candidates.push({ spdxId, raw, purl });
    }
  }

  const generatedFrom = new Map<string, string>();
  for (const r of rawRelationships) {
    if (r.relationshipType === 'GENERATED_FROM' && typeof r.spdxElementId === 'string' && typeof r.relatedSpdxElement === 'string') {
      generatedFrom.set(r.spdxElementId, r.relatedSpdxElement);
    }
  }
  const decoded: Array<{ spdxId: string; pkg: Package }> = [];
  for (const { spdxId, raw, purl } of candidates) {
    // Trivy writes the source package as sourceInfo "built package from: zlib 1:1.2.13.dfsg-1+deb12u1".
    const trivySource = /^built package from: (\S+) (\S+)$/.exec(str(raw.sourceInfo) ?? '');
    const source = sources.get(generatedFrom.get(spdxId) ?? '') ?? (trivySource ? { name: trivySource[1] as string, version: trivySource[2] as string } : undefined);
    const { cpes } = refsOf(raw);
    const result = packageFromFields({
      purl,
      ...(str(raw.name) ? { name: str(raw.name) as string } : {}),
      ...(str(raw.versionInfo) ? { version: str(raw.versionInfo) as string } : {}),
      licenses: licensesFrom(raw, extracted),
      cpes,
      ...(supplierName(raw) ? { supplier: supplierName(raw) as string } : {}),
      props: new PropertyBag(annotationProps(raw)),
      ...(source && source.name ? { source } : {}),
      defaultFoundBy: 'sbom-spdx',
    });
    if ('code' in result) issues.add({ ...result, source: 'spdx' }, result.code);
    else decoded.push({ spdxId, pkg: result });
  }
  const packages = assignPackageIds(decoded.map((d) => d.pkg));
  const idOf = new Map<string, string>();
  decoded.forEach((d, i) => idOf.set(d.spdxId, (packages[i] as Package).id));
  if (subjectId) idOf.set(subjectId, SUBJECT_ID);
  const declared: Relationship[] = [];
  for (const r of rawRelationships) {
    if (r.relationshipType !== 'DEPENDS_ON' && r.relationshipType !== 'DEPENDENCY_OF') continue;
    let from = idOf.get(String(r.spdxElementId));
    let to = idOf.get(String(r.relatedSpdxElement));
    if (r.relationshipType === 'DEPENDENCY_OF') [from, to] = [to, from];
    if (from && to && from !== SUBJECT_ID && to !== SUBJECT_ID) declared.push({ from, to, type: 'depends-on' });
  }
  const { sourcePackages, relationships } = buildRelationships({ packages, relationships: declared, ...(distro ? { distro } : {}) });
  return {
    subject,
    ...(distro ? { distro } : {}),
    packages,
    sourcePackages: sourcePackages as SourcePackage[],
    relationships,
    issues: issues.finish(),
    createdAt,
    tool,
  };
}

/** Trivy's `attributionTexts` entries of the form `Key: value`. */
function attributionTexts(raw: Json): PropertyBag {
  const props: Property[] = [];
  if (Array.isArray(raw.attributionTexts)) {
    for (const text of raw.attributionTexts) {
      const m = typeof text === 'string' ? /^([A-Za-z]+): (.+)$/.exec(text) : null;
      if (m) props.push([m[1] as string, m[2] as string]);
    }
  }
  return new PropertyBag(props);
}

function supplierName(raw: Json): string | undefined {
  const supplier = str(raw.supplier);
  if (!supplier || supplier === 'NOASSERTION') return undefined;
  const m = /^(?:Person|Organization):\s*(.*?)\s*(?:\(([^)]*)\))?$/.exec(supplier);
  if (!m) return supplier;
  return m[2] ? `${m[1]} <${m[2]}>` : m[1];
}
