import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonTar } from '../../../test/fixtures/oci/fixtures.js';
import { rejectsWith } from '../../../test/fixtures/oci/streams.js';
import type { DistillError } from '../../errors.js';
import { TarIndex } from './tar-index.js';
import { peekTarNames } from './tar-peek.js';

let work: string;
const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-tar-index-'));
  const tree = join(work, 'tree');
  mkdirSync(join(tree, deep), { recursive: true });
  writeFileSync(join(tree, deep, `${'n'.repeat(120)}.json`), '{"deep":true}');
  writeFileSync(join(tree, 'small.txt'), 'small\n');
  writeFileSync(join(tree, 'empty'), '');
  writeFileSync(join(tree, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  linkSync(join(tree, 'small.txt'), join(tree, 'hard.txt'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('TarIndex (outer archive index) against GNU tar', () => {
  for (const format of ['gnu', 'pax', 'ustar', 'v7']) {
    it(`member names and contents match tar -xO (${format})`, async () => {
      const archive = join(work, `${format}.tar`);
      const args = ['--format', format, '-C', join(work, 'tree'), '-cf', archive, '.'];
      try {
        execFileSync('tar', args, { stdio: 'pipe' });
      } catch {
        // ustar cannot hold a 120-character base name and v7 no long paths at all: those formats are checked without it.
        rmSync(join(work, 'tree', deep.split('/')[0]!), { recursive: true, force: true });
        execFileSync('tar', args, { stdio: 'pipe' });
      }
      const listed = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n').filter((n) => n !== '' && !n.endsWith('/'));
      const index = await TarIndex.build(archive);
      try {
        expect(index.names().sort()).toEqual(listed.map((n) => n.replace(/^\.\//, '')).sort());
        for (const name of listed) {
          const member = index.get(name.replace(/^\.\//, ''))!;
          // tar -xO prints nothing for hard links; the files on disk are the oracle for every member's bytes.
          expect((await index.read(member)).equals(readFileSync(join(work, 'tree', name))), name).toBe(true);
        }
      } finally {
        await index.close();
      }
      expect(peekTarNames(archive).names.sort()).toEqual(
        execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n').filter((n) => n !== '').map((n) => n.replace(/^\.\//, '')).sort(),
      );
    });
  }

  it('rejects escaping names, reports truncation and corruption', async () => {
    const evil = join(work, 'evil.tar');
    pythonTar(evil, [{ name: 'ok', data: 'x' }, { name: '/etc/passwd', data: 'x' }]);
    await rejectsWith(TarIndex.build(evil), 'PATH_ESCAPE');
    const cut = join(work, 'cut.tar');
    copyFileSync(join(work, 'gnu.tar'), cut);
    truncateSync(cut, 2 * 1024 * 1024);
    await rejectsWith(TarIndex.build(cut), 'ARCHIVE_TRUNCATED');
    const garbage = join(work, 'garbage.tar');
    writeFileSync(garbage, Buffer.alloc(4096, 0x61));
    await rejectsWith(TarIndex.build(garbage), 'ARCHIVE_CORRUPT');
    expect(peekTarNames(garbage).isTar).toBe(false);
    await rejectsWith(TarIndex.build(join(work, 'missing.tar')), 'SOURCE_NOT_FOUND');
  });

  it('keeps the tar error as cause, refuses GNU sparse members, and peeks without throwing', async () => {
    const garbage = join(work, 'garbage.tar');
    const corrupt = await rejectsWith(TarIndex.build(garbage), 'ARCHIVE_CORRUPT');
    expect((corrupt.cause as DistillError).code).toBe('TAR_CORRUPT');
    expect(corrupt.subject).toBe(garbage);
    const cut = join(work, 'cut.tar');
    expect(((await rejectsWith(TarIndex.build(cut), 'ARCHIVE_TRUNCATED')).cause as DistillError).code).toBe('TAR_TRUNCATED');
    expect(peekTarNames(cut).isTar).toBe(true);

    const dir = join(work, 'sparse');
    mkdirSync(dir, { recursive: true });
    execFileSync('python3', ['-c', `f=open(${JSON.stringify(join(dir, 'holes'))},'wb')\nfor i in range(8):\n  f.seek(i*65536); f.write(b'x'*100)\nf.truncate(8*65536)`]);
    writeFileSync(join(dir, 'manifest.json'), '[]');
    for (const format of ['gnu', 'pax']) {
      const sparse = join(work, `sparse-${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '--sparse', '-C', dir, '-cf', sparse, 'holes', 'manifest.json']);
      expect((await rejectsWith(TarIndex.build(sparse), 'ARCHIVE_CORRUPT')).message).toContain('sparse');
      expect(peekTarNames(sparse)).toEqual({ isTar: false, names: [] });
    }

    // Peek stops at the wanted name and never reaches the garbage after it.
    const listed = join(work, 'listed.tar');
    execFileSync('tar', ['--format=gnu', '-C', dir, '-cf', listed, 'manifest.json']);
    const head = readFileSync(listed).subarray(0, 1024);
    const tailed = join(work, 'tailed.tar');
    writeFileSync(tailed, Buffer.concat([head, Buffer.alloc(4096, 0x61)]));
    expect(peekTarNames(tailed, (name) => name === 'manifest.json')).toEqual({ isTar: true, names: ['manifest.json'] });
    expect(peekTarNames(tailed)).toEqual({ isTar: true, names: ['manifest.json'] });
    await rejectsWith(TarIndex.build(tailed), 'ARCHIVE_CORRUPT');
  });
});
