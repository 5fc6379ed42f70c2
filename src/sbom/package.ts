/** @module sbom/package — the package model: a discriminated union per ecosystem, plus the SBOM document. */
import type { Issue } from '../errors.js';
import type { Platform } from '../oci/platform.js';

/** Where a package was found: the evidence file and the layer that added it. */
export interface Location {
  path: string;
  /** Layer diffId (or blob digest when the diffId is unknown); absent for directory sources. */
  layerDigest?: string;
}

interface PackageBase {
  /** Stable id inside one SBOM, derived from purl and first location (see package-id.ts). */
  id: string;
  name: string;
  version: string;
  purl: string;
  cpes: string[];
  /** License expressions or names as declared, most specific first. */
  licenses: string[];
  locations: Location[];
  /** Name of the cataloger that found it. */
  foundBy: string;
}

export interface DebPackage extends PackageBase {
  type: 'deb';
  architecture: string;
  /** Source package name (equal to `name` when the status entry has no Source field). */
  sourceName: string;
  /** Source version (from `Source: name (version)`, else the binary version). */
  sourceVersion: string;
  maintainer?: string;
  installedSize?: number;
  /** Files the package owns (from info/*.list or status.d/*.md5sums), absolute paths. */
  files: string[];
}

export interface ApkPackage extends PackageBase {
  type: 'apk';
  architecture: string;
  /** The origin (source) package. */
  origin: string;
  files: string[];
}

export interface NpmPackage extends PackageBase {
  type: 'npm';
}

export interface PythonPackage extends PackageBase {
  type: 'python';
}

export interface GoModulePackage extends PackageBase {
  type: 'go-module';
  /** Go toolchain version that built the binary, e.g. `go1.19.8`. */
  goVersion: string;
  /** True for the binary's main module; false for dependencies. */
  main: boolean;
  /** Module checksum (h1:…) when recorded. */
  sum?: string;
}

export interface JavaPackage extends PackageBase {
  type: 'java-archive';
  groupId?: string;
  artifactId?: string;
  /** `outer.jar!/inner.jar` path for nested archives. */
  virtualPath: string;
}

export type Package = DebPackage | ApkPackage | NpmPackage | PythonPackage | GoModulePackage | JavaPackage;
export type PackageType = Package['type'];

/** The operating system of the image, from os-release and friends. */
export interface LinuxRelease {
  /** `debian`, `alpine`, `ubuntu`, … */
  id: string;
  idLike: string[];
  /** `12` */
  versionId?: string;
  /** `bookworm` */
  versionCodename?: string;
  prettyName?: string;
  /** Precise version: `/etc/debian_version` (`12.8`) or `/etc/alpine-release` (`3.20.3`). */
  precise?: string;
}

export type RelationshipType = 'contains' | 'built-from' | 'depends-on';

/** A directed edge between SBOM element ids ("image" is the id of the subject image). */
export interface Relationship {
  from: string;
  to: string;
  type: RelationshipType;
}

/** A source package a binary package was built from (Debian source, Alpine origin). */
export interface SourcePackage {
  id: string;
  name: string;
  version: string;
  purl: string;
}

/** What was scanned. */
export interface SbomSubject {
  reference: string;
  transport: string;
  /** Manifest digest for images. */
  digest?: string;
  configDigest?: string;
  platform?: Platform;
  /** Layer diffIds in order. */
  layers: string[];
  tags: string[];
}

export interface Sbom {
  subject: SbomSubject;
  distro?: LinuxRelease;
  packages: Package[];
  sourcePackages: SourcePackage[];
  relationships: Relationship[];
  issues: Issue[];
  /** ISO timestamp; pinned by SOURCE_DATE_EPOCH handling in the caller for reproducible output. */
  createdAt: string;
  tool: { name: string; version: string };
}
