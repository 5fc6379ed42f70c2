/** @module build/deb/deb-reader.test — the .deb reader against dpkg-deb and GNU tar on real Debian packages, plus hostile archives. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDistillError } from '../../errors.js';
import { cached } from '../../../test/helpers/oracles.js';
import { parseAr } from './ar-archive.js';
import { readDeb, type DebFile } from './deb-reader.js';

const PACKAGES = ['nginx-common', 'libc6', 'tzdata', 'base-files'];
const debDir = cached('debs-reader-v1', (tmp) => {
  mkdirSync(tmp, { recursive: true });
  execFileSync('apt-get', ['download', ...PACKAGES], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
});
const debs = readdirSync(debDir).filter((f) => f.endsWith('.deb')).sort();
const work = mkdtempSync(join(tmpdir(), 'deb-reader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function modeString(type: DebFile['type'], mode: number): string {
  const t = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[type];
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (mode & (0o400 >> i) ? c : '-'));
  if (mode & 0o4000) bits[2] = bits[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) bits[5] = bits[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) bits[8] = bits[8] === 'x' ? 't' : 'T';
  return t + bits.join('');
}

function tarName(path: string): string {
  return path === '/' ? './' : `.${path}`;
}

async function expectInvalid(input: Buffer, pattern: RegExp): Promise<void> {
  const error = await readDeb(input, { label: 'hostile.deb' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isDistillError(error, 'DEB_INVALID'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}

/** Writes an ar archive from members (common format, as dpkg-deb writes). */
function ar(members: { name: string; data: Buffer; size?: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const m of members) {
    const header = `${m.name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(m.size ?? m.data.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(header, 'latin1'), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

describe('readDeb on real Debian packages', () => {
  it.each(debs)('%s matches dpkg-deb (fields, listing, contents)', async (name) => {
    const path = join(debDir, name);
    const deb = await readDeb(path);
    expect(deb.compression).toEqual({ control: 'xz', data: 'xz' });

    // Control: the raw file, and each field as dpkg-deb -f prints it.
    const control = execFileSync('sh', ['-c', `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./control`, 'sh', path]);
    expect(deb.control.text).toBe(control.toString('utf8'));
    for (const field of ['Package', 'Version', 'Architecture', 'Maintainer', 'Installed-Size', 'Depends', 'Pre-Depends', 'Multi-Arch']) {
      const expected = execFileSync('dpkg-deb', ['-f', path, field], { encoding: 'utf8' }).replace(/\n$/, '');
      expect(deb.control.fields.get(field.toLowerCase()) ?? '', field).toBe(expected.replace(/\n /g, '\n'));
    }

    // Listing: type, mode, numeric owners, size, name and link target, in archive order.
    const listing = execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar --numeric-owner -tvf -`, 'sh', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const expected = listing.trimEnd().split('\n').map((line) => {
      const m = /^(\S+) (\d+)\/(\d+) +(\d+) \S+ \S+ (.*)$/.exec(line);
      if (m === null) throw new Error(`unparsed tar line ${line}`);
      return `${m[1]} ${m[2]}/${m[3]} ${m[4]} ${m[5]}`;
    });
    const actual = deb.files.map((f) => {
      const link = f.type === 'symlink' ? ` -> ${f.linkTarget}` : f.type === 'hardlink' ? ` link to ${tarName(f.linkTarget!)}` : '';
      return `${modeString(f.type, f.mode)} ${f.uid}/${f.gid} ${f.size} ${tarName(f.path)}${f.type === 'dir' && f.path !== '/' ? '/' : ''}${link}`;
    });
    expect(actual).toEqual(expected);

    // Contents: sha256 of every regular file dpkg-deb -x extracts.
    const dir = join(work, name);
    execFileSync('dpkg-deb', ['-x', path, dir]);
    const sums = execFileSync('sh', ['-c', `cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum`, 'sh', dir], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const ours = new Map<string, string>();
    for (const f of deb.files) {
      if (f.type === 'file') ours.set(`.${f.path}`, createHash('sha256').update(f.content!).digest('hex'));
    }
    const theirs = new Map(sums.trimEnd().split('\n').filter(Boolean).map((l) => [l.slice(66), l.slice(0, 64)] as [string, string]));
    // dpkg-deb -x materialises hardlinks as files with the same content.
    for (const f of deb.files) if (f.type === 'hardlink') ours.set(`.${f.path}`, ours.get(`.${f.linkTarget}`)!);
    expect(ours).toEqual(theirs);

    // md5sums and conffiles agree with the control archive and with the content.
    const md5 = execFileSync('sh', ['-c', `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./md5sums 2>/dev/null || true`, 'sh', path], { encoding: 'utf8' });
    expect(deb.md5sums.size).toBe(md5.split('\n').filter(Boolean).length);
    for (const [file, sum] of deb.md5sums) {
      const entry = deb.files.find((f) => f.path === file);
      const content = entry?.type === 'hardlink' ? deb.files.find((f) => f.path === entry.linkTarget)?.content : entry?.content;
      expect(createHash('md5').update(content!).digest('hex'), file).toBe(sum);
    }
    const conf = execFileSync('sh', ['-c', `dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./conffiles 2>/dev/null || true`, 'sh', path], { encoding: 'utf8' });
    expect(deb.conffiles).toEqual(conf.split('\n').filter(Boolean));
  });

  it('reads gzip, zstd and uncompressed members (dpkg-deb -b -Z…)', async () => {
    const root = join(work, 'pkg');
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'etc', 'demo'), { recursive: true });
    writeFileSync(join(root, 'etc', 'demo', 'demo.conf'), 'key = value\n');
    writeFileSync(
      join(root, 'DEBIAN', 'control'),
      'Package: demo\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: demo\n long text\n .\n more\n',
    );
    writeFileSync(join(root, 'DEBIAN', 'conffiles'), '/etc/demo/demo.conf\n');
    writeFileSync(join(root, 'DEBIAN', 'md5sums'), `${createHash('md5').update('key = value\n').digest('hex')}  etc/demo/demo.conf\n`);
    for (const [flag, expected] of [['gzip', 'gzip'], ['zstd', 'zstd'], ['none', 'none'], ['xz', 'xz']] as const) {
      const out = join(work, `demo-${flag}.deb`);
      execFileSync('dpkg-deb', ['--root-owner-group', `-Z${flag}`, '-b', root, out], { stdio: 'ignore' });
      const deb = await readDeb(readFileSync(out));
      expect(deb.compression.data).toBe(expected);
      expect(deb.control.fields.get('description')).toBe('demo\nlong text\n\nmore');
      expect(deb.conffiles).toEqual(['/etc/demo/demo.conf']);
      expect(deb.md5sums.get('/etc/demo/demo.conf')).toBe(createHash('md5').update('key = value\n').digest('hex'));
      expect(deb.files.find((f) => f.path === '/etc/demo/demo.conf')?.content?.toString()).toBe('key = value\n');
    }
  });
});

describe('readDeb on hostile input', () => {
  const realPath = (): string => join(debDir, debs.find((d) => d.startsWith('base-files'))!);

  it('refuses a bad magic, truncation and member sizes that lie', async () => {
    const real = readFileSync(realPath());
    await expectInvalid(Buffer.concat([Buffer.from('!<arch>X'), real.subarray(8)]), /bad magic/);
    await expectInvalid(Buffer.from('PK\x03\x04'), /bad magic/);
    await expectInvalid(real.subarray(0, real.length - 100), /declares \d+ bytes but only \d+ remain/);
    await expectInvalid(real.subarray(0, 8 + 30), /truncated member header/);
    const members = parseAr(real);
    const data = members.find((m) => m.name.startsWith('data.tar'))!;
    // Size field claims more than the file holds.
    const lying = Buffer.from(real);
    lying.write(String(data.size + 1_000_000).padEnd(10), data.offset - 12, 'latin1');
    await expectInvalid(lying, /declares \d+ bytes/);
    // Size field not a number.
    const garbage = Buffer.from(real);
    garbage.write('12x4      ', data.offset - 12, 'latin1');
    await expectInvalid(garbage, /malformed size field/);
    // Size shrunk: the data member is cut, so xz decoding fails.
    const shrunk = ar(members.map((m) => (m === data ? { name: m.name, data: m.data.subarray(0, m.size - 64) } : { name: m.name, data: m.data })));
    await expectInvalid(shrunk, /xz data is corrupt/);
  });

  it('refuses bzip2 and lzma members, a wrong format version, a wrong order and path tricks', async () => {
    const members = parseAr(readFileSync(realPath())).map((m) => ({ name: m.name, data: Buffer.from(m.data) }));
    const [version, control, data] = members as [(typeof members)[0], (typeof members)[0], (typeof members)[0]];
    await expectInvalid(ar([version, control, { name: 'data.tar.bz2', data: data.data }]), /data\.tar\.bz2 uses a compression distill does not read/);
    await expectInvalid(ar([version, control, { name: 'data.tar.lzma', data: data.data }]), /does not read/);
    await expectInvalid(ar([{ name: 'debian-binary', data: Buffer.from('3.0\n') }, control, data]), /format version/);
    await expectInvalid(ar([version, data, control]), /second member/);
    await expectInvalid(ar([control, version, data]), /first member/);
    await expectInvalid(ar([version, control]), /third member/);
    await expectInvalid(ar([version, control, data, { name: 'evil', data: Buffer.from('x') }]), /unexpected member/);
    await expectInvalid(ar([version, control, data, { name: '../evil', data: Buffer.from('x') }]), /invalid name/);
    // A member name claiming xz over gzip bytes.
    await expectInvalid(ar([version, control, { name: 'data.tar.xz', data: execFileSync('gzip', ['-c'], { input: 'hello' }) }]), /xz data is corrupt/);

    // data.tar entries escaping with "..", and a hardlink to an unknown file (made with Python's tarfile, which allows both).
    const hostileTar = (script: string): Buffer =>
      execFileSync('python3', ['-c', `import tarfile,io,sys\nb=io.BytesIO()\nt=tarfile.open(fileobj=b,mode='w',format=tarfile.GNU_FORMAT)\n${script}\nt.close()\nsys.stdout.buffer.write(b.getvalue())`]);
    const escape = hostileTar(`i=tarfile.TarInfo('./../../etc/cron.d/evil'); d=b'x'; i.size=1; t.addfile(i, io.BytesIO(d))`);
    await expectInvalid(ar([version, control, { name: 'data.tar', data: escape }]), /contains "\.\." \(path escape\)/);
    const badLink = hostileTar(`i=tarfile.TarInfo('./usr/bin/x'); i.type=tarfile.LNKTYPE; i.linkname='./etc/shadow'; t.addfile(i)`);
    await expectInvalid(ar([version, control, { name: 'data.tar', data: badLink }]), /not an earlier regular file/);
    const twice = hostileTar(`\nfor n in ('./a','./a'):\n  i=tarfile.TarInfo(n); i.size=1; t.addfile(i, io.BytesIO(b'x'))`);
    await expectInvalid(ar([version, control, { name: 'data.tar', data: twice }]), /twice/);
    await expectInvalid(ar([version, control, { name: 'data.tar', data: Buffer.alloc(700, 0x41) }]), /data\.tar/);
  });

  it('bounds decompressed sizes (gzip and xz bombs stop at the limit)', async () => {
    const members = parseAr(readFileSync(realPath())).map((m) => ({ name: m.name, data: Buffer.from(m.data) }));
    const [version, control] = members as [(typeof members)[0], (typeof members)[0]];
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const gz = execFileSync('gzip', ['-9c'], { input: zeros, maxBuffer: 1 << 26 });
    const xzData = execFileSync('xz', ['-9c'], { input: zeros, maxBuffer: 1 << 26 });
    for (const [name, data] of [['data.tar.gz', gz], ['data.tar.xz', xzData]] as const) {
      const error = await readDeb(ar([version, control, { name, data }]), { maxDataSize: 1024 * 1024 }).catch((e: unknown) => e);
      expect(isDistillError(error, 'DEB_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/decompresses to more than 1048576 bytes/);
    }
  });
});
