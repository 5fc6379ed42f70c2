/** @module cli/registry-environment — registry client settings from the environment and ~/.docker/config.json (the library takes them as parameters). */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DistillError } from '../errors.js';
import { chainCredentials, dockerConfigCredentials, type CredentialHelperRunner, type CredentialProvider, type DockerConfigFile } from '../oci/registry/auth.js';
import type { RegistryClientOptions } from '../oci/registry/client.js';
import { configureRegistryDefaults } from '../oci/registry/defaults.js';

export interface RegistryFlags {
  insecure?: boolean;
  ca?: string;
}

const HELPER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_HELPER_OUTPUT = 64 * 1024;

/** Runs `docker-credential-<helper> get`, the server URL on stdin, as Docker does. */
export const runCredentialHelper: CredentialHelperRunner = (helper, serverUrl) =>
  new Promise((resolve, reject) => {
    if (!HELPER_NAME.test(helper)) {
      reject(new DistillError('REGISTRY_AUTH_FAILED', `invalid credential helper name ${JSON.stringify(helper)} in the Docker config`));
      return;
    }
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (out.length < MAX_HELPER_OUTPUT) out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString('utf8');
    });
    child.on('error', (error) => reject(new DistillError('REGISTRY_AUTH_FAILED', `cannot run docker-credential-${helper}: ${error.message}`, { hint: `install docker-credential-${helper} or remove it from ~/.docker/config.json`, cause: error })));
    child.on('close', (code) => {
      // Helpers print "credentials not found in native keychain" on stdout or stderr: never echo the output.
      if (code === 0) resolve(out);
      else reject(new DistillError('REGISTRY_AUTH_FAILED', `docker-credential-${helper} get exited with ${code} for ${serverUrl}`, { subject: serverUrl }));
    });
    child.stdin.end(serverUrl);
  });

function readDockerConfig(): DockerConfigFile | undefined {
  const files = [
    process.env.REGISTRY_AUTH_FILE,
    join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json'),
    process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : undefined,
  ].filter((f): f is string => f !== undefined && f !== '');
  for (const file of files) {
    if (!existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as DockerConfigFile;
    } catch (error) {
      throw new DistillError('USAGE', `cannot read the registry credentials file ${file}: ${(error as Error).message}`, { subject: file });
    }
  }
  return undefined;
}

/** `DISTILL_REGISTRY_USERNAME` + `DISTILL_REGISTRY_PASSWORD` (optionally only for `DISTILL_REGISTRY_HOST`). */
function environmentCredentials(): CredentialProvider | undefined {
  const username = process.env.DISTILL_REGISTRY_USERNAME;
  const password = process.env.DISTILL_REGISTRY_PASSWORD;
  if (!username || password === undefined) return undefined;
  const only = process.env.DISTILL_REGISTRY_HOST;
  return async (registry) => (only === undefined || only === '' || only === registry ? { username, password } : undefined);
}

function env(...names: string[]): string | undefined {
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/**
 * Client settings: credentials (environment, then the Docker/podman config), `--ca`/`DISTILL_REGISTRY_CA`,
 * `--insecure`/`DISTILL_REGISTRY_INSECURE` (`1` or a comma list of hosts), HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
 */
export function registryClientOptions(flags: RegistryFlags = {}): RegistryClientOptions {
  // The config file is read on the first registry that asks for credentials, so a broken file only
  // matters to commands that need it.
  let fromConfig: CredentialProvider | undefined;
  const configProvider: CredentialProvider = async (registry) => {
    if (fromConfig === undefined) {
      const config = readDockerConfig();
      fromConfig = config === undefined ? async () => undefined : dockerConfigCredentials(config, runCredentialHelper);
    }
    return fromConfig(registry);
  };
  const options: RegistryClientOptions = { credentials: chainCredentials(environmentCredentials(), configProvider), userAgent: 'distill' };
  const caFile = flags.ca ?? env('DISTILL_REGISTRY_CA');
  if (caFile !== undefined) {
    try {
      options.ca = readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new DistillError('USAGE', `cannot read the CA file ${caFile}: ${(error as Error).message}`, { subject: caFile });
    }
  }
  const insecure = env('DISTILL_REGISTRY_INSECURE');
  if (flags.insecure === true || insecure === '1' || insecure === 'true') options.insecure = true;
  else if (insecure !== undefined && insecure !== '0' && insecure !== 'false') options.insecure = insecure.split(',').map((h) => h.trim()).filter(Boolean);
  const httpsProxy = env('HTTPS_PROXY', 'https_proxy');
  const httpProxy = env('HTTP_PROXY', 'http_proxy');
  const noProxy = env('NO_PROXY', 'no_proxy');
  if (httpsProxy !== undefined || httpProxy !== undefined) {
    options.proxy = { ...(httpsProxy !== undefined ? { httpsProxy } : {}), ...(httpProxy !== undefined ? { httpProxy } : {}), ...(noProxy !== undefined ? { noProxy } : {}) };
  }
  return options;
}

/** Installs the environment's settings as the defaults every `registry:` reference opened by the library uses. */
export function installRegistryDefaults(flags: RegistryFlags = {}): void {
  configureRegistryDefaults(registryClientOptions(flags));
}
