/** @module build — the image builder's public surface: build, lock, catalog; the parts are re-exported from their modules. */
export { BASE_RECIPE_NAME, buildImage, buildSummary, catalogImages, defaultLockPath, IMAGE_SBOM_CYCLONEDX, IMAGE_SBOM_SPDX, imageSbom, lockImage, lockRecipeDigest, parseOutput, repositoriesFor } from './build.js';
export type { ArchBuild, ArchExplain, BuildOptions, BuildProgress, BuildResult, BuildSummary, BuiltPackage, CatalogEntry, OutputSpec, PackageExplain } from './build.js';
export { loadRecipe, parseRecipe } from './recipe/recipe.js';
export type { Recipe } from './recipe/recipe.js';
export { readLock, writeLock } from './lock.js';
export type { Lockfile, LockedPackage } from './lock.js';
export { DEFAULT_EXCLUSIONS } from './resolve/exclusions.js';
