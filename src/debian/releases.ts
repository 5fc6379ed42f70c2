/** @module debian/releases — Debian release numbers and their codenames (OSV writes `Debian:12`, the tracker `bookworm`). */

/** Major version → codename, for feeds keyed by number and os-release files without VERSION_CODENAME. */
export const DEBIAN_RELEASE_CODENAMES: Readonly<Record<string, string>> = {
  '7': 'wheezy',
  '8': 'jessie',
  '9': 'stretch',
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
  '14': 'forky',
  '15': 'duke',
};
