/** @module filesystem — public surface: tar reader, layer index, squashed / all-layers / directory resolvers. */
export * from './file-entry.js';
export type { FileResolver, ReadOptions } from './file-resolver.js';
export * from './tar/tar-types.js';
export { readTar, indexTarFile, DEFAULT_MAX_ENTRY_SIZE, DEFAULT_MAX_METADATA_SIZE } from './tar/tar-reader.js';
export { indexLayer, DEFAULT_MAX_CAPTURE_BYTES, type IndexLayerOptions, type LayerIndex } from './layer-index.js';
export { DEFAULT_MAX_READ_BYTES, type LayerReaders, type OpenLayer } from './layer-reader.js';
export { squash, SquashedResolver } from './squashed-resolver.js';
export { allLayers, AllLayersResolver } from './all-layers-resolver.js';
export { openDirectory, DirectoryResolver } from './directory-resolver.js';
export { resolvePath, MAX_SYMLINK_HOPS, type EntryLookup, type Resolution, type ResolveOptions } from './symlinks.js';
export { globMatcher, imagePath } from './entry-tree.js';
