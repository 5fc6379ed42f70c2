/** @module oci/platform — platform descriptors, parsing `os/arch[/variant]` and matching them. */
import { DistillError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** Parses `linux/arm64`, `linux/arm/v7`, `arm64` (os defaults to linux). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  if (parts.some((part) => part === '') || parts.length > 3) {
    throw new DistillError('USAGE', `invalid platform "${text}"`, { hint: 'use os/arch[/variant], e.g. linux/arm64' });
  }
  if (parts.length === 1) return { os: 'linux', architecture: parts[0]! };
  const platform: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) platform.variant = parts[2];
  return platform;
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Default variants, as the OCI spec and containerd normalise them (arm64 → v8, arm → v7). */
function normalisedVariant(platform: Platform): string | undefined {
  if (platform.variant) return platform.variant;
  if (platform.architecture === 'arm64') return 'v8';
  if (platform.architecture === 'arm') return 'v7';
  return undefined;
}

/** True when `candidate` satisfies `wanted` (a wanted variant, if given, must match). */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  if (wanted.variant === undefined) return true;
  return normalisedVariant(candidate) === normalisedVariant(wanted);
}
