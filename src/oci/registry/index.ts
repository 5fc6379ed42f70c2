/** @module oci/registry — public surface of the distribution client: references, credentials, client, registry images, copy and push. */
export { apiHost, DEFAULT_TAG, DOCKER_HUB, DOCKER_HUB_API, formatRegistryReference, isLoopbackRegistry, isRegistryReference, parseRegistryReference, type RegistryReference, type RepositoryRef } from './registry-reference.js';
export {
  basicHeader,
  chainCredentials,
  dockerConfigCredentials,
  parseChallenge,
  staticCredentials,
  TokenCache,
  type Challenge,
  type CredentialHelperRunner,
  type CredentialProvider,
  type DockerConfigFile,
  type RegistryCredential,
} from './auth.js';
export { bypassesProxy, MANIFEST_ACCEPT, RegistryClient, verified, type BlobContent, type BlobPushOutcome, type FetchedManifest, type ProxySettings, type RegistryClientOptions } from './client.js';
export { openRegistryImage, RegistryImage, type OpenRegistryImageOptions } from './registry-image.js';
export { copyContent, imageSource, layoutSink, layoutSource, registrySink, registrySource, type ContentSink, type ContentSource, type CopyEvent, type CopyOptions, type CopyResult, type ManifestNode } from './copy.js';
export { pushImage, pushLayoutStore, pushOciArchive, pushOciLayout, type PushOptions, type PushResult } from './push.js';
export { configureRegistryDefaults, registryDefaults } from './defaults.js';
export { copyReference, formatDestination, parseDestination, type CopyDestination, type CopyReferenceOptions, type CopyReferenceResult } from './copy-reference.js';
