/** @module oci/registry/defaults — the client settings `openImage('registry:…')` uses when the caller passes none (the CLI installs them once). */
import type { RegistryClientOptions } from './client.js';

let defaults: RegistryClientOptions = {};

/**
 * Sets the options (credentials, CA, insecure hosts, proxy) used for registry references opened
 * without an explicit client, e.g. by `catalogSource`. The library never reads the environment itself:
 * the CLI builds these from ~/.docker/config.json and DISTILL_REGISTRY_* / HTTPS_PROXY.
 */
export function configureRegistryDefaults(options: RegistryClientOptions): void {
  defaults = { ...options };
}

export function registryDefaults(): RegistryClientOptions {
  return defaults;
}
