import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociArchiveOf, ociLayoutOf, stockImage } from '../../test/helpers/oracles.js';
import { tinyDockerArchive } from '../../test/fixtures/oci/fixtures.js';
import { DistillError } from '../errors.js';
import { formatReference, parseReference } from './reference.js';
import { openImage } from './open-image.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'distill-ref-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof DistillError ? error.code : `not a DistillError: ${String(error)}`;
  }
  return undefined;
}

describe('parseReference', () => {
  it('detects transports from content for bare paths', () => {
    const layout = ociLayoutOf(stockImage('nginx'), 'nginx');
    expect(parseReference(layout)).toMatchObject({ transport: 'oci', path: layout, explicit: false });
    expect(parseReference(`${layout}:latest`)).toMatchObject({ transport: 'oci', path: layout, tag: 'latest' });
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    expect(parseReference(rootfs)).toEqual({ transport: 'dir', path: rootfs, explicit: false, text: rootfs });
    expect(parseReference(tinyDockerArchive('amd64')).transport).toBe('docker-archive');
    expect(parseReference(stockImage('nginx')).transport).toBe('docker-archive');
    expect(parseReference(ociArchiveOf(stockImage('nginx'), 'nginx')).transport).toBe('oci-archive');
  });

  it('parses explicit transports and their suffixes', () => {
    const archive = tinyDockerArchive('amd64');
    expect(parseReference(`docker-archive:${archive}:tiny/amd64:latest`)).toMatchObject({ transport: 'docker-archive', path: archive, tag: 'tiny/amd64:latest', explicit: true });
    expect(parseReference(`docker-archive:${archive}:@3`)).toMatchObject({ path: archive, index: 3 });
    expect(parseReference(`docker-archive:${archive}@2`)).toMatchObject({ path: archive, index: 2 });
    const layout = ociLayoutOf(stockImage('nginx'), 'nginx');
    expect(parseReference(`oci:${layout}:v1.2-rc`)).toMatchObject({ transport: 'oci', path: layout, tag: 'v1.2-rc' });
    expect(formatReference(parseReference(`oci:${layout}:v1`))).toBe(`oci:${layout}:v1`);
    expect(parseReference(`dir:${work}`)).toMatchObject({ transport: 'dir', path: work, explicit: true });
  });

  it('prefers existing files for paths that contain ":"', async () => {
    const odd = join(work, 'img:v1.tar');
    execFileSync('cp', [tinyDockerArchive('amd64'), odd]);
    expect(parseReference(odd)).toMatchObject({ transport: 'docker-archive', path: odd });
    expect(parseReference(`docker-archive:${odd}`)).toMatchObject({ path: odd });
    expect(parseReference(`docker-archive:${odd}:tiny/amd64:latest`)).toMatchObject({ path: odd, tag: 'tiny/amd64:latest' });
    const image = await openImage(`${odd}:tiny/amd64:latest`);
    expect(await image.tags()).toEqual(['tiny/amd64:latest']);
    await image.close();
    const linkDir = join(work, 'link:dir');
    symlinkSync(ociLayoutOf(stockImage('nginx'), 'nginx'), linkDir);
    expect(parseReference(`${linkDir}:latest`)).toMatchObject({ transport: 'oci', path: linkDir, tag: 'latest' });
  });

  it('errors: BAD_REFERENCE, SOURCE_NOT_FOUND, SOURCE_UNRECOGNIZED with hints', () => {
    expect(codeOf(() => parseReference(''))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference('oci:'))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference('docker-daemon:nginx:latest'))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference('containers-storage:nginx'))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference(`oci:${ociLayoutOf(stockImage('nginx'), 'nginx')}:bad tag`))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference(`docker-archive:${tinyDockerArchive('amd64')}:@x1`))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference(`dir:${work}:tag`))).toBe('BAD_REFERENCE');
    expect(codeOf(() => parseReference(join(work, 'missing.tar')))).toBe('SOURCE_NOT_FOUND');
    expect(codeOf(() => parseReference(`oci:${join(work, 'nope')}:latest`))).toBe('SOURCE_NOT_FOUND');
    expect(codeOf(() => parseReference(`oci:${tinyDockerArchive('amd64')}`))).toBe('SOURCE_UNRECOGNIZED');
    expect(codeOf(() => parseReference(`docker-archive:${work}`))).toBe('SOURCE_UNRECOGNIZED');
    const text = join(work, 'notes.txt');
    writeFileSync(text, 'hello, not an image\n'.repeat(100));
    try {
      parseReference(text);
      expect.unreachable();
    } catch (error) {
      expect((error as DistillError).code).toBe('SOURCE_UNRECOGNIZED');
      expect((error as DistillError).hint).toContain('oci-archive:FILE');
    }
    const gz = join(work, 'image.tar.gz');
    execFileSync('sh', ['-c', `gzip -c '${tinyDockerArchive('amd64')}' > '${gz}'`]);
    expect((() => { try { parseReference(gz); } catch (e) { return (e as DistillError).hint; } return ''; })()).toContain('gunzip');
    const plainTar = join(work, 'rootfs.tar');
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', plainTar, '.']);
    expect(codeOf(() => parseReference(plainTar))).toBe('SOURCE_UNRECOGNIZED');
  });

  it('openImage refuses a plain directory (the rootfs resolver handles those)', async () => {
    await expect(openImage(`dir:${work}`)).rejects.toMatchObject({ code: 'SOURCE_UNRECOGNIZED' });
    const events: string[] = [];
    const image = await openImage(tinyDockerArchive('amd64'), { onProgress: (e) => events.push(`${e.kind}:${'transport' in e ? e.transport : ''}`) });
    expect(events).toEqual(['source-opened:docker-archive']);
    await image.close();
  });
});
