/** @module build/apt — the apt client's public surface: sources, verified Release and Packages, merged index, verified .deb cache. */
export { applyMirror, mirrorFromEnv, parseDeb822Sources, parseOneLineSources, parseSourcesFile, resolveRepositories } from './sources.js';
export type { MirrorSetting, Repository, ResolveSourcesInput, SourcesText } from './sources.js';
export { checkRelease, distsUrl, fetchRelease, INRELEASE_MAX_BYTES, loadKeyring, parseKeyring, parseRelease, verifyInRelease } from './release.js';
export type { Keyring, Release, ReleaseFile, VerifiedRelease } from './release.js';
export { checkIndexHash, fetchPackages, fetchPackagesText, PACKAGES_MAX_BYTES, packagesPath, parsePackages, parseRelations } from './packages.js';
export type { FetchPackagesOptions, IndexCache, PackageRecord, ParsedPackages, Provide, Relation, RelationOp } from './packages.js';
export { DEBIAN_ARCHIVE_KEYRING, openRepositories } from './repository.js';
export { indexPackages } from './packages-index.js';
export type { PackagesPart } from './packages-index.js';
export type { IndexedPackage, OpenedRepository, OpenRepositoriesOptions, PackageIndex } from './repository.js';
export { cachePath, fetchDeb, indexCache } from './fetch-deb.js';
export type { FetchedDeb } from './fetch-deb.js';
export { fetchBytes, fetchToFile, NotFoundError } from './http.js';
export type { FetchImpl, HttpOptions } from './http.js';
