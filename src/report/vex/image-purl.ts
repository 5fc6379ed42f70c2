/** @module report/vex/image-purl — the purl that names a scanned image as a VEX product: pkg:oci/NAME@DIGEST?arch=…&repository_url=…. */
import { formatPurl } from '../../sbom/purl.js';
import type { SbomSubject } from '../../sbom/package.js';

/** `distill/nginx:latest` → `distill/nginx`; `reg:5000/a/b@sha256:…` → `reg:5000/a/b`. */
function repositoryOf(tag: string): string {
  const at = tag.indexOf('@');
  const name = at === -1 ? tag : tag.slice(0, at);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  // A colon after the last slash starts the tag; one before it is a registry port.
  return colon > slash ? name.slice(0, colon) : name;
}

/** The last path fragment of a reference's location: `oci:out/nginx:1` → `nginx`, `docker-archive:/x/stock-nginx.tar` → `stock-nginx`. */
function nameFromReference(reference: string): string {
  const colon = reference.indexOf(':');
  let path = colon === -1 ? reference : reference.slice(colon + 1);
  path = path.replace(/\/+$/, '');
  let last = path.slice(path.lastIndexOf('/') + 1);
  // `oci:DIR:TAG`: the tag is not part of the directory name.
  const tagAt = last.indexOf(':');
  if (tagAt !== -1) last = last.slice(0, tagAt);
  return last.replace(/\.(tar|tar\.gz|tgz)$/, '') || 'image';
}

/**
 * The OpenVEX/Trivy-style product identifier of an image: type `oci`, name = the last fragment of its
 * repository (first tag, else the reference's file or directory name), version = the manifest digest,
 * qualifiers `arch` and `repository_url` (the tag's repository, as written; no registry is invented).
 * Returns undefined when the image has neither a digest nor a tag: then nothing identifies it.
 */
export function imagePurl(subject: SbomSubject): string | undefined {
  const tag = subject.tags[0];
  if (subject.digest === undefined && tag === undefined) return undefined;
  const repository = tag === undefined ? undefined : repositoryOf(tag);
  const name = (repository === undefined ? nameFromReference(subject.reference) : repository.slice(repository.lastIndexOf('/') + 1)).toLowerCase();
  const qualifiers: Array<[string, string]> = [];
  if (subject.platform !== undefined) qualifiers.push(['arch', subject.platform.architecture]);
  if (repository !== undefined) qualifiers.push(['repository_url', repository]);
  return formatPurl({ type: 'oci', name, ...(subject.digest === undefined ? {} : { version: subject.digest }), qualifiers });
}
