/** @module build/resolve/exclusions — the documented default exclusions: dependencies that only serve maintainer scripts or package management. */

/**
 * Left out of every closure unless the recipe requests them (or lists them under `include`). distill runs no
 * maintainer scripts and ships no package manager: it recreates their effects declaratively (accounts, directories,
 * alternatives links, status.d), so these packages would only add files and CVEs. This follows what chisel slices
 * and distroless leave out of their Debian-based images.
 *
 * A dependency group that names any of these among its alternatives is dropped as a whole: its alternatives all
 * serve the same purpose (`debconf (>= 0.5) | debconf-2.0`, `systemd | systemd-sysusers`), so falling through to
 * the next alternative would only pull in a heavier package for the same job.
 *
 * Deliberately NOT listed: perl-base (the perl interpreter itself; only perl and perl-run tools depend on it),
 * libpam-runtime (PAM's /etc/pam.d/common-* files are read at run time by PAM programs), sgml-base/xml-core (the
 * catalogs are run-time configuration), tzdata, netbase, media-types, ca-certificates (run-time data).
 */
export const DEFAULT_EXCLUSIONS: Readonly<Record<string, string>> = Object.freeze({
  // Interactive configuration questions asked by config/postinst scripts; nothing reads debconf at run time.
  debconf: 'debconf answers questions for maintainer scripts, which distill does not run',
  'debconf-2.0': 'virtual debconf interface, used only by maintainer scripts',
  cdebconf: 'alternative debconf implementation, used only by maintainer scripts',
  // Account creation: the recipe's `accounts` and the setup table write /etc/passwd and /etc/group directly.
  adduser: 'creates system accounts from postinst; distill writes /etc/passwd and /etc/group declaratively',
  passwd: 'useradd/groupadd for postinst scripts; accounts are written declaratively',
  // Init-system integration: a container has no init system managing services.
  'init-system-helpers': 'deb-systemd-helper, update-rc.d, invoke-rc.d for maintainer scripts; a container has no init system',
  'lsb-base': 'init.d script helpers (/lib/lsb/init-functions); a container runs no init.d scripts',
  'sysvinit-utils': 'init-functions and service helpers for init.d scripts; a container runs no init.d scripts',
  systemd: 'the init system, depended on for units and sysusers/tmpfiles calls in postinst; a container has no systemd as PID 1',
  'systemd-sysv': 'makes systemd the init system; a container has no init system',
  'systemd-sysusers': 'virtual: creates accounts from postinst; accounts are written declaratively',
  'systemd-standalone-sysusers': 'creates accounts from postinst; accounts are written declaratively',
  'systemd-tmpfiles': 'virtual: creates directories from postinst; the setup table creates them',
  'systemd-standalone-tmpfiles': 'creates directories from postinst; the setup table creates them',
  'runit-helper': 'registers runit services from maintainer scripts; a container runs no service supervisor',
  'update-inetd': 'edits inetd.conf from maintainer scripts; a container runs no inetd',
  // Package management: the image has no package manager; status.d is synthesized for scanners.
  dpkg: 'the package manager (Pre-Depends mostly ask for maintainer-script features); the image has none, status.d is synthesized',
  apt: 'the package manager front end; the image has none',
  'install-info': 'updates the info directory from maintainer scripts; info pages are dropped from the image',
  ucf: 'conffile merging for maintainer scripts; configuration comes from the packages and the recipe',
  'sensible-utils': 'sensible-editor/pager/browser shell scripts for interactive use; the image has no shell',
});

export function isDefaultExclusion(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(DEFAULT_EXCLUSIONS, name);
}
