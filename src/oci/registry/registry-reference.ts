/** @module oci/registry/registry-reference — Docker-style image references (`nginx:1.25`, `host:5000/team/app@sha256:…`) with Docker's defaults. */
import { DistillError } from '../../errors.js';
import { isDigest } from '../digest.js';

/** The registry a reference without a host names, as Docker spells it. */
export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's API actually answers on. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
export const DEFAULT_TAG = 'latest';

/** A repository in a registry: `host[:port]` plus a path such as `library/nginx`. */
export interface RepositoryRef {
  /** `host[:port]` as written (docker.io for Docker Hub, lower-cased). */
  registry: string;
  /** Repository path, e.g. `library/nginx` or `team/app`. */
  repository: string;
}

/** A parsed image reference. At least one of tag and digest is set (tag defaults to `latest`). */
export interface RegistryReference extends RepositoryRef {
  tag?: string;
  digest?: string;
}

// The grammar of distribution/reference, written out: path components are lower-case alphanumerics
// joined by single separators ('.', '_', '__', runs of '-'); a tag is at most 128 word characters.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME = 255;

function bad(text: string, why: string): DistillError {
  return new DistillError('BAD_REFERENCE', `invalid registry reference ${JSON.stringify(text)}: ${why}`, {
    hint: 'use [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], e.g. nginx:1.25 or 127.0.0.1:5000/team/app:1.4',
    subject: text,
  });
}

/** True when the first path component names a registry host rather than a Docker Hub namespace. */
function isHostComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

/**
 * Parses a Docker reference: `nginx` → docker.io/library/nginx:latest, `team/app` → docker.io/team/app,
 * `localhost:5000/app@sha256:…`, `ghcr.io/o/r:tag@sha256:…` (both kept). Throws BAD_REFERENCE.
 */
export function parseRegistryReference(text: string): RegistryReference {
  if (typeof text !== 'string' || text === '') throw bad(String(text), 'empty');
  if (text.length > 1024 || /[\s\0]/.test(text)) throw bad(text.slice(0, 200), 'too long or contains whitespace');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad(text, `invalid digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(text, `invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && isHostComponent(parts[0]!)) {
    registry = parts.shift()!;
    if (!HOST.test(registry)) throw bad(text, `invalid registry host ${JSON.stringify(registry)}`);
    registry = registry.toLowerCase();
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    throw bad(text, 'repository names are lower-case letters, digits and single separators (. _ __ -), joined by /');
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > MAX_NAME) throw bad(text, `repository name longer than ${MAX_NAME} characters`);
  const result: RegistryReference = { registry, repository };
  if (tag !== undefined) result.tag = tag;
  if (digest !== undefined) result.digest = digest;
  if (tag === undefined && digest === undefined) result.tag = DEFAULT_TAG;
  return result;
}

/** Whether `text` parses as a registry reference (no exception). */
export function isRegistryReference(text: string): boolean {
  try {
    parseRegistryReference(text);
    return true;
  } catch {
    return false;
  }
}

/** `host/repo[:tag][@digest]` — the full, unambiguous form (docker.io spelled out). */
export function formatRegistryReference(reference: RegistryReference): string {
  return `${reference.registry}/${reference.repository}${reference.tag !== undefined ? `:${reference.tag}` : ''}${reference.digest !== undefined ? `@${reference.digest}` : ''}`;
}

/** The `host[:port]` HTTP requests go to (Docker Hub's API host for docker.io). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** True for localhost, 127.0.0.0/8 and ::1 (with or without a port). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
