/** @module oci — public surface of the image sources: references, openImage, the Image/Layer contracts and helpers. */
export type { Descriptor, Image, ImageConfig, ImageManifest, Layer } from './image.js';
export { formatPlatform, parsePlatform, platformMatches, type Platform } from './platform.js';
export { openImage, type OpenImageOptions } from './open-image.js';
export { formatReference, parseReference, TRANSPORTS, type ParsedReference, type Transport } from './reference.js';
export { digestOf, isDigest, parseDigest, VerifyingStream, type DigestAlgorithm, type ParsedDigest } from './digest.js';
export { dockerLayerMediaType, isImageManifestType, isIndexType, layerCompression, MediaType, sniffCompression, type Compression } from './media-types.js';
export { MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE, parseDescriptor, parseImageConfig, parseImageIndex, parseImageManifest, type ImageIndex } from './manifest.js';
export { StoredLayer } from './layer.js';
export { DirectoryLayoutStore, blobPath, readBlob, type LayoutStore } from './layout/layout-store.js';
export { FALLBACK_PLATFORM, LayoutImage, openLayoutImage, REF_NAME_ANNOTATION, type SelectImageOptions } from './layout/layout-image.js';
export { openOciArchive } from './archive/oci-archive.js';
export { DockerArchiveImage, normaliseRepoTag, openDockerArchive, type DockerArchiveOptions } from './archive/docker-archive.js';
export { TarIndex, normaliseMemberName, type TarMember } from './archive/tar-index.js';
