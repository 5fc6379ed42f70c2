/** @module oci/media-types — OCI and Docker media type constants, layer compression from media type or magic bytes. */

export const MediaType = {
  ociLayout: 'application/vnd.oci.layout.header.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type Compression = 'none' | 'gzip' | 'zstd';

const LAYER_COMPRESSION: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  [MediaType.ociLayer, 'none'],
  [MediaType.ociLayerGzip, 'gzip'],
  [MediaType.ociLayerZstd, 'zstd'],
  [MediaType.ociLayerNondistributable, 'none'],
  [MediaType.ociLayerNondistributableGzip, 'gzip'],
  [MediaType.ociLayerNondistributableZstd, 'zstd'],
  [MediaType.dockerLayer, 'none'],
  [MediaType.dockerLayerGzip, 'gzip'],
  [MediaType.dockerForeignLayerGzip, 'gzip'],
]);

/** Compression implied by a layer media type, or undefined when the type is not a known layer type. */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_COMPRESSION.get(mediaType);
}

export function isImageManifestType(mediaType: string): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

export type SniffResult = Compression | 'bzip2' | 'xz' | 'unknown';

/** Identifies a blob by its first bytes (at least 262 for the tar check; fewer is fine for compressed data). */
export function sniffCompression(head: Buffer): SniffResult {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'none';
  return 'unknown';
}

/** The media type a docker-archive layer is given once its compression is known. */
export function dockerLayerMediaType(compression: Compression): string {
  if (compression === 'gzip') return MediaType.dockerLayerGzip;
  if (compression === 'zstd') return MediaType.ociLayerZstd;
  return MediaType.dockerLayer;
}
