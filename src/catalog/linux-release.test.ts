import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ociLayoutOf, stockImage, umociRootfs } from '../../test/helpers/oracles.js';
import { openDirectory } from '../filesystem/directory-resolver.js';
import { detectRelease, parseOsRelease } from './linux-release.js';

/** The shell is the oracle for os-release syntax: it is defined as sourceable by sh. */
function shellValues(file: string, keys: string[]): Record<string, string> {
  const script = `. "$1"; ${keys.map((k) => `printf '%s\\0' "$${k}"`).join('; ')}`;
  const out = execFileSync('sh', ['-c', script, 'sh', file]).toString().split('\0');
  return Object.fromEntries(keys.map((k, i) => [k, out[i]!]));
}

function rootfs(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'release-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('parseOsRelease', () => {
  it('unquotes and unescapes exactly as sh does', () => {
    const text = [
      '# comment',
      'NAME="Debian GNU/Linux"',
      "ID='debian'",
      'VERSION="12 (bookworm) \\"quoted\\" \\$HOME \\\\ done"',
      'VERSION_CODENAME=bookworm',
      'PLAIN=a\\ b',
      'EMPTY=',
      'MIXED="a"\'b\'c',
    ].join('\n');
    const dir = rootfs({ 'os-release': text });
    const keys = ['NAME', 'ID', 'VERSION', 'VERSION_CODENAME', 'PLAIN', 'EMPTY', 'MIXED'];
    const expected = shellValues(join(dir, 'os-release'), keys);
    const parsed = parseOsRelease(text);
    for (const key of keys) expect(parsed.get(key), key).toBe(expected[key]);
  });
});

describe('detectRelease', () => {
  it('reads the stock nginx image (os-release symlink → /usr/lib/os-release, debian_version)', async () => {
    const root = umociRootfs(ociLayoutOf(stockImage('nginx'), 'nginx'), 'latest', 'nginx');
    const oracle = shellValues(join(root, 'usr/lib/os-release'), ['ID', 'VERSION_ID', 'VERSION_CODENAME', 'PRETTY_NAME']);
    const precise = execFileSync('cat', [join(root, 'etc/debian_version')]).toString().trim();
    const { release, issues } = await detectRelease(await openDirectory(root));
    expect(issues).toEqual([]);
    expect(release).toEqual({
      id: oracle.ID,
      idLike: [],
      versionId: oracle.VERSION_ID,
      versionCodename: oracle.VERSION_CODENAME,
      prettyName: oracle.PRETTY_NAME,
      precise,
    });
    expect(precise).toMatch(/^12\.\d+$/);
  }, 300_000);

  it('falls back to /usr/lib/os-release when /etc/os-release is absent, and to debian_version alone', async () => {
    const onlyUsr = rootfs({ 'usr/lib/os-release': 'ID=debian\nVERSION_ID="12"\n', 'etc/debian_version': '12.8\n' });
    expect((await detectRelease(await openDirectory(onlyUsr))).release).toEqual({ id: 'debian', idLike: [], versionId: '12', precise: '12.8' });
    const bare = rootfs({ 'etc/debian_version': '11.11\n' });
    expect((await detectRelease(await openDirectory(bare))).release).toEqual({ id: 'debian', idLike: [], versionId: '11', precise: '11.11' });
  });

  it('does not take "bookworm/sid" (Ubuntu, testing) as a precise version', async () => {
    const ubuntu = rootfs({ 'etc/os-release': 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', 'etc/debian_version': 'trixie/sid\n' });
    expect((await detectRelease(await openDirectory(ubuntu))).release).toEqual({ id: 'ubuntu', idLike: ['debian'], versionId: '24.04' });
    const sid = rootfs({ 'etc/os-release': 'ID=debian\n', 'etc/debian_version': 'trixie/sid\n' });
    expect((await detectRelease(await openDirectory(sid))).release).toEqual({ id: 'debian', idLike: [] });
  });

  it('reads Alpine (os-release + alpine-release)', async () => {
    const root = join(import.meta.dirname, '../../test/fixtures/catalog-os/alpine-3.20/rootfs');
    const { release } = await detectRelease(await openDirectory(root));
    expect(release).toMatchObject({ id: 'alpine', versionId: '3.20.3', precise: '3.20.3', prettyName: 'Alpine Linux v3.20' });
  });

  it('survives hostile files: os-release without ID, a huge os-release, a symlink loop', async () => {
    const root = rootfs({ 'usr/lib/os-release': 'NAME=nothing\n', 'etc/alpine-release': '3.19.1\n' });
    symlinkSync('os-release', join(root, 'etc/os-release.loop'));
    const { release, issues } = await detectRelease(await openDirectory(root));
    expect(issues.map((i) => i.code)).toEqual(['FIELD_MISSING']);
    expect(release).toEqual({ id: 'alpine', idLike: [], versionId: '3.19.1', precise: '3.19.1' });

    const huge = rootfs({ 'etc/os-release': 'ID=debian\n' + '#'.repeat(200_000) + '\n' });
    const big = await detectRelease(await openDirectory(huge));
    expect(big.issues.map((i) => i.code)).toEqual(['FILE_TOO_LARGE']);
    expect(big.release).toBeUndefined();

    const loop = rootfs({});
    mkdirSync(join(loop, 'etc'));
    symlinkSync('os-release', join(loop, 'etc/os-release'));
    expect(await detectRelease(await openDirectory(loop))).toEqual({ release: undefined, issues: [] });
  });
});
