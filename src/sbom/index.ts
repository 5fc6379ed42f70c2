/** @module sbom/index — public surface of the SBOM area: model, purl, cpe, ids/relationships, formats. */
export * from './package.js';
export * from './purl.js';
export * from './cpe.js';
export * from './package-id.js';
export * from './formats/index.js';
