/** @module sbom/cpe — CPE 2.3 formatted strings: escaping, parsing, and modest vendor/product guesses per package. */

/** The eleven WFN attributes after `cpe:2.3:`. Unset ones render as `*` (ANY). */
export interface CpeAttributes {
  part: 'a' | 'o' | 'h';
  vendor: string;
  product: string;
  version?: string;
  update?: string;
  edition?: string;
  language?: string;
  swEdition?: string;
  targetSw?: string;
  targetHw?: string;
  other?: string;
}

const ORDER = ['vendor', 'product', 'version', 'update', 'edition', 'language', 'swEdition', 'targetSw', 'targetHw', 'other'] as const;

/**
 * Escapes one attribute value for the CPE 2.3 formatted-string binding (NISTIR 7695 §6.2): letters, digits,
 * `_`, `-` and `.` stay as they are, every other printable ASCII character is quoted with a backslash
 * (`1:1.2.13` → `1\:1.2.13`). Values are lowercased, whitespace becomes `_` (WFN forbids spaces) and
 * characters outside printable ASCII become `_` too. An empty value is ANY (`*`); a lone `-` would mean NA,
 * so it is quoted.
 */
export function escapeCpeValue(value: string | undefined): string {
  if (value === undefined || value === '' || value === '*') return '*';
  if (value === '-') return '\\-';
  let out = '';
  for (const ch of value.toLowerCase().replace(/\s+/g, '_')) {
    const code = ch.codePointAt(0) ?? 0;
    if (/[a-z0-9_.-]/.test(ch)) out += ch;
    else if (code > 0x20 && code < 0x7f) out += `\\${ch}`;
    else out += '_';
  }
  return out;
}

/** Reverses escapeCpeValue for one field (`*` → undefined). */
export function unescapeCpeValue(field: string): string | undefined {
  if (field === '*' || field === '') return undefined;
  return field.replace(/\\(.)/g, '$1');
}

/** `cpe:2.3:a:<vendor>:<product>:<version>:*:*:*:*:*:*:*`. */
export function formatCpe(attributes: CpeAttributes): string {
  return ['cpe', '2.3', attributes.part, ...ORDER.map((key) => escapeCpeValue(attributes[key]))].join(':');
}

/** Parses a CPE 2.3 formatted string (splitting on unescaped colons); undefined when it is not one. */
export function parseCpe(cpe: string): CpeAttributes | undefined {
  if (typeof cpe !== 'string' || cpe.length > 2048 || !cpe.startsWith('cpe:2.3:')) return undefined;
  const fields: string[] = [];
  let current = '';
  for (let i = 8; i < cpe.length; i++) {
    const ch = cpe[i] as string;
    if (ch === '\\' && i + 1 < cpe.length) {
      current += ch + (cpe[i + 1] as string);
      i++;
    } else if (ch === ':') {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  if (fields.length !== 11) return undefined;
  const part = fields[0];
  if (part !== 'a' && part !== 'o' && part !== 'h') return undefined;
  const attributes: CpeAttributes = { part, vendor: unescapeCpeValue(fields[1] as string) ?? '', product: unescapeCpeValue(fields[2] as string) ?? '' };
  ORDER.slice(2).forEach((key, index) => {
    const value = unescapeCpeValue(fields[index + 3] as string);
    if (value !== undefined) attributes[key] = value;
  });
  return attributes;
}

/**
 * Vendor/product pairs the NVD uses for well-known upstream projects, keyed by Debian source name or Alpine
 * origin (the name that stays stable across binary splits: libssl3, openssl → openssl). Deliberately small:
 * where the NVD name is not certain, the Syft-style fallback (vendor = product = name) applies instead.
 */
const KNOWN_OS_PRODUCTS: Readonly<Record<string, readonly [vendor: string, product: string]>> = {
  openssl: ['openssl', 'openssl'],
  curl: ['haxx', 'curl'],
  zlib: ['zlib', 'zlib'],
  glibc: ['gnu', 'glibc'],
  bash: ['gnu', 'bash'],
  coreutils: ['gnu', 'coreutils'],
  tar: ['gnu', 'tar'],
  gzip: ['gnu', 'gzip'],
  ncurses: ['gnu', 'ncurses'],
  gnutls28: ['gnu', 'gnutls'],
  libtasn1: ['gnu', 'libtasn1'],
  'libtasn1-6': ['gnu', 'libtasn1'],
  libidn2: ['gnu', 'libidn2'],
  nginx: ['f5', 'nginx'],
  sqlite3: ['sqlite', 'sqlite'],
  sqlite: ['sqlite', 'sqlite'],
  expat: ['libexpat_project', 'libexpat'],
  libxml2: ['xmlsoft', 'libxml2'],
  pcre2: ['pcre', 'pcre2'],
  systemd: ['systemd_project', 'systemd'],
  'util-linux': ['kernel', 'util-linux'],
  openldap: ['openldap', 'openldap'],
  krb5: ['mit', 'kerberos_5'],
  libgcrypt20: ['gnupg', 'libgcrypt'],
  gnupg2: ['gnupg', 'gnupg'],
  'xz-utils': ['tukaani', 'xz'],
  xz: ['tukaani', 'xz'],
  perl: ['perl', 'perl'],
  libssh2: ['libssh2', 'libssh2'],
  nghttp2: ['nghttp2', 'nghttp2'],
  'libzstd': ['facebook', 'zstandard'],
  zstd: ['facebook', 'zstandard'],
  bzip2: ['bzip', 'bzip2'],
  busybox: ['busybox', 'busybox'],
  musl: ['musl-libc', 'musl'],
  openssh: ['openbsd', 'openssh'],
  git: ['git-scm', 'git'],
  sudo: ['sudo_project', 'sudo'],
  dpkg: ['debian', 'dpkg'],
  apt: ['debian', 'advanced_package_tool'],
  'libpng1.6': ['libpng', 'libpng'],
  tiff: ['libtiff', 'libtiff'],
  freetype: ['freetype', 'freetype'],
};

/**
 * The upstream version the NVD would use for an OS package: no epoch, no Debian revision / Alpine `-rN`, no
 * repack suffix (`1:1.2.13.dfsg-1+deb12u1` → `1.2.13`, `3.0.22-1~deb12u2` → `3.0.22`, `1.2.4-r2` → `1.2.4`).
 */
export function upstreamVersion(version: string, type: 'deb' | 'apk'): string {
  let v = version.replace(/^[0-9]+:/, '');
  if (type === 'apk') v = v.replace(/-r[0-9]+$/, '');
  else {
    const dash = v.lastIndexOf('-');
    if (dash > 0) v = v.slice(0, dash);
  }
  return v.replace(/[.+~](dfsg|ds|repack)[0-9]*.*$/i, '');
}

function cpe(vendor: string, product: string, version: string, targetSw?: string): string {
  return formatCpe({ part: 'a', vendor, product, version, ...(targetSw ? { targetSw } : {}) });
}

/** The fields cpesFor reads; every Package satisfies it. */
export type CpeInput =
  | { type: 'deb'; name: string; version: string; sourceName?: string; sourceVersion?: string }
  | { type: 'apk'; name: string; version: string; origin?: string }
  | { type: 'npm' | 'python'; name: string; version: string }
  | { type: 'go-module'; name: string; version: string }
  | { type: 'java-archive'; name: string; version: string; groupId?: string; artifactId?: string };

/**
 * One CPE per package where a vendor/product can be derived, else none. Modelled on Syft's generator but
 * far smaller: OS packages use their source/origin name and the table above (fallback vendor = product =
 * source name) with the upstream version; npm uses the scope as vendor; Python the PEP 503 name; Go modules
 * on github.com / golang.org/x use owner and repository; Maven the groupId's organisation segment.
 */
export function cpesFor(pkg: CpeInput): string[] {
  if (!pkg.version) return [];
  switch (pkg.type) {
    case 'deb':
    case 'apk': {
      const source = (pkg.type === 'deb' ? pkg.sourceName : pkg.origin) || pkg.name;
      const version = pkg.type === 'deb' ? (pkg.sourceVersion || pkg.version) : pkg.version;
      const known = KNOWN_OS_PRODUCTS[source];
      const [vendor, product] = known ?? [source, source];
      return [cpe(vendor, product, upstreamVersion(version, pkg.type))];
    }
    case 'npm': {
      const scoped = /^@([^/]+)\/(.+)$/.exec(pkg.name);
      if (scoped) return [cpe(scoped[1] as string, scoped[2] as string, pkg.version, 'node.js')];
      return [cpe(pkg.name, pkg.name, pkg.version, 'node.js')];
    }
    case 'python': {
      const name = pkg.name.replace(/[-_.]+/g, '-').toLowerCase();
      return [cpe(name, name, pkg.version, 'python')];
    }
    case 'go-module': {
      if (pkg.name === 'stdlib') return [cpe('golang', 'go', pkg.version.replace(/^go/, ''))];
      const github = /^github\.com\/([^/]+)\/([^/]+)/.exec(pkg.name);
      if (github) return [cpe(github[1] as string, github[2] as string, pkg.version.replace(/^v/, ''))];
      const golangX = /^golang\.org\/x\/([^/]+)/.exec(pkg.name);
      if (golangX) return [cpe('golang', golangX[1] as string, pkg.version.replace(/^v/, ''))];
      return [];
    }
    case 'java-archive': {
      const artifact = pkg.artifactId || pkg.name;
      const segments = (pkg.groupId ?? '').split('.').filter(Boolean);
      const tld = new Set(['org', 'com', 'io', 'net', 'dev', 'de', 'uk', 'fr', 'eu']);
      const vendor = segments.length > 1 && tld.has(segments[0] as string) ? (segments[1] as string) : (segments[0] ?? artifact);
      return [cpe(vendor, artifact, pkg.version)];
    }
  }
}
