/** @module sbom/formats/properties — the `distill:` property namespace shared by the CycloneDX and SPDX codecs, and package rebuilding from decoded fields. */
import type { Issue } from '../../errors.js';
import type { LinuxRelease, Location, Package, SbomSubject } from '../package.js';
import { packageId } from '../package-id.js';
import { packageCoordinates, packageTypeOfPurl, purlQualifier, tryParsePurl } from '../purl.js';

/**
 * Property names (CycloneDX `properties`, SPDX package annotations `name=value`). Documented namespace:
 * - `distill:foundBy` cataloger name
 * - `distill:location:<i>:path`, `distill:location:<i>:layerDigest` the i-th location (0-based)
 * - `distill:arch` deb/apk architecture; `distill:source:name`, `distill:source:version` deb source package
 *   (`distill:source:name` is the origin for apk)
 * - `distill:deb:installedSize` (KiB); `distill:cpe` CPEs after the first (CycloneDX has one `cpe` field)
 * - `distill:go:toolchain`, `distill:go:main` (`true`/`false`), `distill:go:sum`; `distill:java:virtualPath`
 * Image (metadata component): `distill:transport`, `distill:configDigest`, `distill:layer:<i>`, `distill:tag`,
 * `distill:platform` (`os/arch[/variant]`). OS component: `distill:os:versionId`, `distill:os:versionCodename`,
 * `distill:os:prettyName`, `distill:os:precise`, `distill:os:idLike` (space separated).
 * Decoders also read Trivy's `aquasecurity:trivy:SrcName`/`SrcVersion`/`SrcRelease`/`SrcEpoch`/`FilePath`/
 * `LayerDiffID` and Syft's `syft:cpe23`, `syft:location:<i>:path`, `syft:location:<i>:layerID`.
 */
export const NS = 'distill:';

export type Property = [name: string, value: string];

/** The distill properties of one package, in a fixed order. */
export function packageProperties(pkg: Package): Property[] {
  const props: Property[] = [['distill:foundBy', pkg.foundBy]];
  pkg.locations.forEach((location, i) => {
    props.push([`distill:location:${i}:path`, location.path]);
    if (location.layerDigest) props.push([`distill:location:${i}:layerDigest`, location.layerDigest]);
  });
  for (const cpe of pkg.cpes.slice(1)) props.push(['distill:cpe', cpe]);
  switch (pkg.type) {
    case 'deb':
      props.push(['distill:arch', pkg.architecture], ['distill:source:name', pkg.sourceName], ['distill:source:version', pkg.sourceVersion]);
      if (pkg.installedSize !== undefined) props.push(['distill:deb:installedSize', String(pkg.installedSize)]);
      break;
    case 'apk':
      props.push(['distill:arch', pkg.architecture], ['distill:source:name', pkg.origin]);
      break;
    case 'go-module':
      props.push(['distill:go:toolchain', pkg.goVersion], ['distill:go:main', String(pkg.main)]);
      if (pkg.sum) props.push(['distill:go:sum', pkg.sum]);
      break;
    case 'java-archive':
      props.push(['distill:java:virtualPath', pkg.virtualPath]);
      break;
    default:
      break;
  }
  return props.filter(([, value]) => value !== '');
}

export function subjectProperties(subject: SbomSubject): Property[] {
  const props: Property[] = [['distill:transport', subject.transport]];
  if (subject.configDigest) props.push(['distill:configDigest', subject.configDigest]);
  subject.layers.forEach((layer, i) => props.push([`distill:layer:${i}`, layer]));
  for (const tag of subject.tags) props.push(['distill:tag', tag]);
  if (subject.platform) {
    const p = subject.platform;
    props.push(['distill:platform', [p.os, p.architecture, p.variant].filter(Boolean).join('/')]);
  }
  return props.filter(([, value]) => value !== '');
}

export function distroProperties(release: LinuxRelease): Property[] {
  const props: Property[] = [];
  if (release.versionId) props.push(['distill:os:versionId', release.versionId]);
  if (release.versionCodename) props.push(['distill:os:versionCodename', release.versionCodename]);
  if (release.prettyName) props.push(['distill:os:prettyName', release.prettyName]);
  if (release.precise) props.push(['distill:os:precise', release.precise]);
  if (release.idLike.length > 0) props.push(['distill:os:idLike', release.idLike.join(' ')]);
  return props;
}

/** Multi-valued property lookup. */
export class PropertyBag {
  private readonly map = new Map<string, string[]>();
  constructor(props: Iterable<Property>) {
    for (const [name, value] of props) {
      const list = this.map.get(name);
      if (list) list.push(value);
      else this.map.set(name, [value]);
    }
  }
  get(name: string): string | undefined {
    return this.map.get(name)?.[0];
  }
  all(name: string): string[] {
    return this.map.get(name) ?? [];
  }
  /** Values of `<prefix><i><suffix>` for i = 0, 1, … until the first gap. */
  indexed(prefix: string, suffix = ''): string[] {
    const out: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const value = this.get(`${prefix}${i}${suffix}`);
      if (value === undefined) break;
      out.push(value);
    }
    return out;
  }
}

export function releaseFromProperties(id: string, version: string | undefined, bag: PropertyBag): LinuxRelease {
  const release: LinuxRelease = { id: id.toLowerCase(), idLike: (bag.get('distill:os:idLike') ?? '').split(' ').filter(Boolean) };
  const versionId = bag.get('distill:os:versionId');
  const precise = bag.get('distill:os:precise');
  if (versionId) release.versionId = versionId;
  else if (version) release.versionId = release.id === 'debian' ? (version.split('.')[0] as string) : version;
  if (precise) release.precise = precise;
  else if (version) release.precise = version;
  const codename = bag.get('distill:os:versionCodename');
  if (codename) release.versionCodename = codename;
  const pretty = bag.get('distill:os:prettyName');
  if (pretty) release.prettyName = pretty;
  return release;
}

/** What a decoder read about one package, format-neutral. */
export interface DecodedFields {
  purl: string;
  name?: string;
  version?: string;
  licenses: string[];
  cpes: string[];
  supplier?: string;
  props: PropertyBag;
  /** Source package from a format-level link (SPDX GENERATED_FROM), overriding properties. */
  source?: { name: string; version: string };
  defaultFoundBy: string;
}

function locationsOf(bag: PropertyBag): Location[] {
  const locations: Location[] = [];
  for (const [prefix, layerKey] of [
    ['distill:location:', ':layerDigest'],
    ['syft:location:', ':layerID'],
  ] as const) {
    const paths = bag.indexed(prefix, ':path');
    paths.forEach((path, i) => {
      const layerDigest = bag.get(`${prefix}${i}${layerKey}`);
      locations.push(layerDigest ? { path, layerDigest } : { path });
    });
    if (locations.length > 0) return locations;
  }
  const trivyPath = bag.get('aquasecurity:trivy:FilePath');
  const trivyLayer = bag.get('aquasecurity:trivy:LayerDiffID');
  if (trivyPath) locations.push(trivyLayer ? { path: trivyPath, layerDigest: trivyLayer } : { path: trivyPath });
  return locations;
}

function trivySourceVersion(bag: PropertyBag): string | undefined {
  const version = bag.get('aquasecurity:trivy:SrcVersion');
  if (!version) return undefined;
  const release = bag.get('aquasecurity:trivy:SrcRelease');
  const epoch = bag.get('aquasecurity:trivy:SrcEpoch');
  return `${epoch && epoch !== '0' ? `${epoch}:` : ''}${version}${release ? `-${release}` : ''}`;
}

/**
 * Builds a Package from decoded fields; the type comes from the purl. Returns an Issue instead when the
 * purl is invalid or of an ecosystem the model does not cover.
 */
export function packageFromFields(fields: DecodedFields): Package | Issue {
  const parts = tryParsePurl(fields.purl);
  if (!parts) return { code: 'PARSE_FAILED', message: `invalid purl "${fields.purl.slice(0, 200)}"`, source: 'sbom-decoder' };
  const type = packageTypeOfPurl(parts.type);
  if (!type) return { code: 'UNSUPPORTED', message: `package type "${parts.type}" is not modelled (${fields.purl.slice(0, 200)})`, source: 'sbom-decoder' };
  const coords = packageCoordinates(parts);
  const bag = fields.props;
  const nameFromDoc = typeof fields.name === 'string' && fields.name !== '' ? fields.name : undefined;
  // deb: the purl carries the epoch (Trivy's component version drops it); npm/golang: the purl joins the namespace.
  const name = type === 'npm' || type === 'go-module' || !nameFromDoc ? coords.name : nameFromDoc;
  const version = type === 'deb' || !fields.version ? coords.version : fields.version;
  const cpes = [...fields.cpes, ...bag.all('distill:cpe'), ...bag.all('syft:cpe23')].filter((c, i, all) => c !== '' && all.indexOf(c) === i);
  const locations = locationsOf(bag);
  const base = {
    id: '',
    name,
    version,
    purl: fields.purl,
    cpes,
    licenses: fields.licenses,
    locations,
    foundBy: bag.get('distill:foundBy') ?? fields.defaultFoundBy,
  };
  base.id = packageId(base);
  const arch = purlQualifier(parts, 'arch') ?? bag.get('distill:arch') ?? '';
  switch (type) {
    case 'deb': {
      const pkg: Package = {
        ...base,
        type,
        architecture: arch,
        sourceName: fields.source?.name ?? bag.get('distill:source:name') ?? bag.get('aquasecurity:trivy:SrcName') ?? name,
        sourceVersion: fields.source?.version ?? bag.get('distill:source:version') ?? trivySourceVersion(bag) ?? version,
        files: [],
      };
      if (fields.supplier) pkg.maintainer = fields.supplier;
      const size = Number(bag.get('distill:deb:installedSize'));
      if (Number.isSafeInteger(size) && size >= 0 && bag.get('distill:deb:installedSize') !== undefined) pkg.installedSize = size;
      return pkg;
    }
    case 'apk':
      return {
        ...base,
        type,
        architecture: arch,
        origin: fields.source?.name ?? bag.get('distill:source:name') ?? bag.get('aquasecurity:trivy:SrcName') ?? name,
        files: [],
      };
    case 'npm':
    case 'python':
      return { ...base, type };
    case 'go-module': {
      const pkg: Package = {
        ...base,
        type,
        goVersion: bag.get('distill:go:toolchain') ?? '',
        main: bag.get('distill:go:main') === 'true',
      };
      const sum = bag.get('distill:go:sum');
      if (sum) pkg.sum = sum;
      return pkg;
    }
    case 'java-archive': {
      const pkg: Package = { ...base, type, virtualPath: bag.get('distill:java:virtualPath') ?? locations[0]?.path ?? '' };
      if (parts.namespace) pkg.groupId = parts.namespace;
      pkg.artifactId = parts.name;
      return pkg;
    }
  }
}

/** Folds per-package issues of the same code and message prefix into counted ones so hostile inputs stay small. */
export class IssueCollector {
  readonly issues: Issue[] = [];
  private readonly counts = new Map<string, number>();
  constructor(private readonly limitPerKind = 20) {}
  add(issue: Issue, kind: string = issue.code): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= this.limitPerKind) this.issues.push(issue);
  }
  finish(): Issue[] {
    for (const [kind, n] of this.counts) {
      if (n > this.limitPerKind) this.issues.push({ code: 'PARSE_FAILED', message: `${n - this.limitPerKind} more issues of kind ${kind} omitted`, source: 'sbom-decoder' });
    }
    return this.issues;
  }
}
