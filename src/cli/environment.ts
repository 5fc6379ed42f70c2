/** @module cli/environment — what the CLI takes from the process environment: host platform, SOURCE_DATE_EPOCH. */
import { DistillError } from '../errors.js';
import type { Platform } from '../oci/platform.js';

/** The platform of this machine, in OCI terms. */
export function defaultPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/** `SOURCE_DATE_EPOCH` as a Date when set (reproducible outputs), else now. */
export function pinnedNow(): Date {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date();
  if (!/^\d+$/.test(epoch)) throw new DistillError('USAGE', `SOURCE_DATE_EPOCH must be whole seconds, got "${epoch}"`, { hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' });
  return new Date(Number(epoch) * 1000);
}
