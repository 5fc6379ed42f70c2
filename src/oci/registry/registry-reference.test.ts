import { describe, expect, it } from 'vitest';
import { DistillError } from '../../errors.js';
import { parseReference } from '../reference.js';
import { formatRegistryReference, isLoopbackRegistry, parseRegistryReference } from './registry-reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseRegistryReference (Docker defaults)', () => {
  // Expected values follow distribution/reference's ParseNormalizedNamed + TagNameOnly, as `docker pull` applies them.
  it.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.25', 'docker.io', 'library/nginx', '1.25', undefined],
    ['library/nginx:1.25', 'docker.io', 'library/nginx', '1.25', undefined],
    ['bitnami/redis', 'docker.io', 'bitnami/redis', 'latest', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['index.docker.io/team/app:v1', 'docker.io', 'team/app', 'v1', undefined],
    ['registry-1.docker.io/library/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['ghcr.io/owner/repo/sub:tag_1.0-rc', 'ghcr.io', 'owner/repo/sub', 'tag_1.0-rc', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/app:2', 'localhost:5000', 'app', '2', undefined],
    ['127.0.0.1:5000/team/app:1.4', '127.0.0.1:5000', 'team/app', '1.4', undefined],
    ['Quay.IO/a/b', 'quay.io', 'a/b', 'latest', undefined],
    ['[::1]:5000/x', '[::1]:5000', 'x', 'latest', undefined],
    [`nginx@${D}`, 'docker.io', 'library/nginx', undefined, D],
    [`host:5000/a/b:1@${D}`, 'host:5000', 'a/b', '1', D],
    ['a__b/c-d--e.f_g', 'docker.io', 'a__b/c-d--e.f_g', 'latest', undefined],
    ['team/app:5000', 'docker.io', 'team/app', '5000', undefined],
  ])('%s', (text, registry, repository, tag, digest) => {
    const parsed = parseRegistryReference(text);
    expect(parsed).toEqual({ registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) });
    expect(parseRegistryReference(formatRegistryReference(parsed))).toEqual(parsed);
  });

  it.each([
    [''],
    ['Nginx'],
    ['nginx:'],
    ['nginx@sha256:abc'],
    ['nginx@md5:' + 'a'.repeat(32)],
    ['a//b'],
    ['/abs/path'],
    ['a/b/'],
    ['nginx:bad/tag'],
    ['nginx:' + 'x'.repeat(129)],
    ['-bad/x'],
    ['a..b/c'],
    ['host:port/x'],
    ['with space:1'],
    ['x'.repeat(300)],
    ['nul\0:1'],
  ])('rejects %j with BAD_REFERENCE', (text) => {
    expect(() => parseRegistryReference(text)).toThrow(DistillError);
    try {
      parseRegistryReference(text);
    } catch (error) {
      expect((error as DistillError).code).toBe('BAD_REFERENCE');
    }
  });

  it('knows loopback hosts', () => {
    expect(['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'].map(isLoopbackRegistry)).toEqual([true, true, true, true, true]);
    expect(['10.0.0.1:5000', 'ghcr.io', 'localhost.example.com', '128.0.0.1'].map(isLoopbackRegistry)).toEqual([false, false, false, false]);
  });
});

describe('parseReference dispatch to registry', () => {
  it.each([
    ['registry:nginx', 'docker.io/library/nginx', 'latest', true],
    ['registry:127.0.0.1:5000/team/app:1.4', '127.0.0.1:5000/team/app', '1.4', true],
    ['docker://ghcr.io/o/r:1', 'ghcr.io/o/r', '1', true],
    ['127.0.0.1:5000/team/app:1.4', '127.0.0.1:5000/team/app', '1.4', false],
    ['nginx:1.25', 'docker.io/library/nginx', '1.25', false],
    ['ghcr.io/o/r', 'ghcr.io/o/r', 'latest', false],
    [`nginx@${D}`, 'docker.io/library/nginx', undefined, false],
  ])('%s', (text, path, tag, explicit) => {
    const parsed = parseReference(text);
    expect(parsed.transport).toBe('registry');
    expect(parsed.path).toBe(path);
    expect(parsed.tag).toBe(tag);
    expect(parsed.explicit).toBe(explicit);
  });

  it.each([['nginx'], ['out/layout'], ['missing.tar:latest'], ['images/no-such-recipe.yaml'], ['./x:1'], ['/no/such:1']])('%s stays a (missing) path', (text) => {
    try {
      parseReference(text);
      expect.unreachable();
    } catch (error) {
      expect((error as DistillError).code).toBe('SOURCE_NOT_FOUND');
    }
  });

  it('rejects a malformed explicit registry reference and foreign transports', () => {
    for (const text of ['registry:', 'registry:UPPER/x', 'docker://a//b', 'docker-daemon:nginx:latest']) {
      expect(() => parseReference(text), text).toThrow(/invalid/);
    }
  });
});
