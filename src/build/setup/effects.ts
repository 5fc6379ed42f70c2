/** @module build/setup/effects — the declarative table of maintainer-script effects distill recreates (no script ever runs). */

/**
 * Who owns a directory an effect creates: `root`, the image's run-as user (so a non-root service can write its
 * state, logs and pid files), or a named account (`www-data`, `www-data:adm`).
 */
export type EffectOwner = 'root' | 'run-as' | string;

export interface EffectAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos?: string;
}

export interface EffectGroup {
  name: string;
  gid: number;
}

export interface EffectDirectory {
  path: string;
  mode: number;
  owner: EffectOwner;
}

/** An `update-alternatives --install LINK NAME PATH PRIORITY` the package's postinst runs. */
export interface EffectAlternative {
  /** The generic name (`awk`): `/etc/alternatives/<name>` points at `path`. */
  name: string;
  /** The public link (`/usr/bin/awk`). */
  link: string;
  /** The implementation (`/usr/bin/mawk`). */
  path: string;
  priority: number;
}

export interface EffectSymlink {
  path: string;
  target: string;
  /** Replace a node already at `path` (default: only create when absent). */
  replace?: boolean;
}

export interface EffectFile {
  path: string;
  content: string;
  mode: number;
  replace?: boolean;
}

/** A file the postinst copies from one the package ships (`cp SRC DEST` when DEST is absent). */
export interface EffectCopy {
  path: string;
  from: string;
  mode: number;
}

export interface PackageEffects {
  /** What the maintainer script does, in one line, for `--explain` and docs. */
  why: string;
  groups?: EffectGroup[];
  users?: EffectAccount[];
  directories?: EffectDirectory[];
  alternatives?: EffectAlternative[];
  symlinks?: EffectSymlink[];
  files?: EffectFile[];
  copies?: EffectCopy[];
}

/**
 * Per binary package name. Accounts with fixed ids are base-passwd's (www-data 33); accounts that postinsts create
 * with `adduser --system` get the fixed ids below instead of "the next free one", so builds are reproducible.
 */
export const PACKAGE_EFFECTS: Readonly<Record<string, PackageEffects>> = {
  'nginx-common': {
    why: 'postinst enables the default site, copies the default page and creates the log directory; nginx runs as www-data (base-passwd 33:33)',
    groups: [{ name: 'www-data', gid: 33 }],
    users: [{ name: 'www-data', uid: 33, gid: 33, home: '/var/www', shell: '/usr/sbin/nologin', gecos: 'www-data' }],
    // A non-root nginx must write its temp dirs, logs and pid file: those belong to the run-as user.
    directories: [
      { path: '/var/lib/nginx', mode: 0o755, owner: 'run-as' },
      { path: '/var/log/nginx', mode: 0o755, owner: 'run-as' },
      { path: '/var/cache/nginx', mode: 0o755, owner: 'run-as' },
      { path: '/run', mode: 0o755, owner: 'run-as' },
      { path: '/etc/nginx/sites-enabled', mode: 0o755, owner: 'root' },
    ],
    symlinks: [{ path: '/etc/nginx/sites-enabled/default', target: '/etc/nginx/sites-available/default' }],
    copies: [{ path: '/var/www/html/index.nginx-debian.html', from: '/usr/share/nginx/html/index.html', mode: 0o644 }],
  },
  'ca-certificates': {
    why: 'postinst writes /etc/ca-certificates.conf and runs update-ca-certificates (the bundle is built by setup); OpenSSL\'s default paths are linked to it',
    directories: [
      { path: '/etc/ssl/certs', mode: 0o755, owner: 'root' },
      { path: '/usr/local/share/ca-certificates', mode: 0o755, owner: 'root' },
    ],
    // libssl3's OPENSSLDIR is /usr/lib/ssl; the `openssl` package (not installed in minimal images) ships these links.
    symlinks: [
      { path: '/usr/lib/ssl/cert.pem', target: '/etc/ssl/certs/ca-certificates.crt' },
      { path: '/usr/lib/ssl/certs', target: '/etc/ssl/certs' },
    ],
  },
  tzdata: {
    why: 'postinst (debconf) sets the system time zone; distill uses Etc/UTC',
    symlinks: [{ path: '/etc/localtime', target: '/usr/share/zoneinfo/Etc/UTC' }],
    files: [{ path: '/etc/timezone', content: 'Etc/UTC\n', mode: 0o644 }],
  },
  mawk: {
    why: 'postinst registers awk alternatives',
    alternatives: [{ name: 'awk', link: '/usr/bin/awk', path: '/usr/bin/mawk', priority: 5 }],
  },
  gawk: {
    why: 'postinst registers awk alternatives',
    alternatives: [{ name: 'awk', link: '/usr/bin/awk', path: '/usr/bin/gawk', priority: 10 }],
  },
  'redis-server': {
    why: 'postinst adds the redis system user and its state and log directories',
    groups: [{ name: 'redis', gid: 101 }],
    users: [{ name: 'redis', uid: 101, gid: 101, home: '/var/lib/redis', shell: '/usr/sbin/nologin', gecos: 'redis' }],
    directories: [
      { path: '/var/lib/redis', mode: 0o750, owner: 'run-as' },
      { path: '/var/log/redis', mode: 0o750, owner: 'run-as' },
      { path: '/run/redis', mode: 0o755, owner: 'run-as' },
    ],
  },
  'redis-tools': {
    why: 'postinst adds the redis system user',
    groups: [{ name: 'redis', gid: 101 }],
    users: [{ name: 'redis', uid: 101, gid: 101, home: '/var/lib/redis', shell: '/usr/sbin/nologin', gecos: 'redis' }],
  },
  busybox: {
    why: 'busybox ships one binary; the dev variant links the usual applets to it (what `busybox --install` does)',
    symlinks: ['sh', 'ash', 'ls', 'cat', 'cp', 'mv', 'rm', 'ln', 'mkdir', 'rmdir', 'ps', 'env', 'id', 'grep', 'sed', 'awk', 'find', 'head', 'tail', 'less', 'vi', 'wget', 'touch', 'chmod', 'chown', 'du', 'df', 'top', 'kill', 'sleep', 'echo', 'printf', 'test', 'which', 'uname', 'hostname', 'nslookup', 'netstat', 'tar', 'gzip', 'xargs', 'sort', 'uniq', 'wc', 'tr', 'cut', 'date', 'stat', 'readlink', 'realpath', 'basename', 'dirname', 'true', 'false', 'pwd']
      .map((applet) => ({ path: `/usr/bin/${applet}`, target: 'busybox' })),
  },
  'libc-bin': {
    why: 'postinst creates the ld.so configuration directory; the loader\'s built-in multiarch paths make ld.so.cache optional',
    directories: [{ path: '/etc/ld.so.conf.d', mode: 0o755, owner: 'root' }],
  },
};

/** The table entry for a package, if it has one. */
export function effectsFor(name: string): PackageEffects | undefined {
  return Object.prototype.hasOwnProperty.call(PACKAGE_EFFECTS, name) ? PACKAGE_EFFECTS[name] : undefined;
}
