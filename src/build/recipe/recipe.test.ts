/** @module build/recipe/recipe.test — recipe loading: schema errors with file:line:column, extends, defaults, digest, hostile input. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DistillError, isDistillError } from '../../errors.js';
import { closest, loadRecipe, parseRecipe, recipeDigest, requestedPackages, resolveRunAs } from './recipe.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'recipe');

function failure(fn: () => unknown): DistillError {
  try {
    fn();
  } catch (error) {
    if (isDistillError(error)) return error;
    throw error;
  }
  throw new Error('expected a DistillError');
}

describe('loadRecipe errors', () => {
  it('names file:line:column, the field, and the nearest known key for a typo', () => {
    const error = failure(() => loadRecipe(join(fixtures, 'typo.yaml')));
    expect(error.code).toBe('RECIPE_INVALID');
    expect(error.message).toContain('typo.yaml:3:3: contents.pakages: unknown field `pakages`; did you mean `packages`?');
    expect(error.subject).toMatch(/typo\.yaml:3:3$/);
  });

  it('reports wrong types, an unquoted octal mode and an unknown architecture, each at its own line', () => {
    const error = failure(() => loadRecipe(join(fixtures, 'wrong-types.yaml')));
    expect(error.code).toBe('RECIPE_INVALID');
    expect(error.message).toMatch(/wrong-types\.yaml:3:13: contents\.packages: must be array, not string "nginx"/);
    expect(error.message).toContain('7:12: accounts.users[0].uid: must be integer, not string "1000"');
    expect(error.message).toContain("12:11: paths[0].mode: must be string, not number 644 (write the mode quoted, e.g. '0644'");
    expect(error.message).toContain('14:16: archs[1]: unknown architecture `aarch64`; did you mean `arm64`?');
  });

  it('rejects bad values with the field named: package names, ports, owner names, run-as', () => {
    const bad = (text: string): string => failure(() => parseRecipe(text, 'inline.yaml')).message;
    expect(bad('name: x\ncontents:\n  packages: [Nginx]\n')).toContain('inline.yaml:3:14: contents.packages[0]: "Nginx" is not a Debian package name');
    expect(bad('name: x\nports: [99999]\n')).toMatch(/inline\.yaml:2:9: ports\[0\]/);
    expect(bad('name: x\nports: ["70000/tcp"]\n')).toContain('ports[0]: 70000 is not a port number');
    expect(bad('name: x\naccounts:\n  run-as: nginx\n')).toContain('inline.yaml:3:11: accounts.run-as: no user `nginx`');
    expect(bad('name: x\ncontents:\n  packages: [nginx, "!nginx"]\n')).toContain('`nginx` is both asked for and excluded');
    expect(bad('name: x\npaths:\n  - { path: /a, type: symlink, content: x, target: /b }\n')).toContain('a symlink takes `target`');
    expect(bad('name: x\npaths:\n  - { path: /a/../etc, type: directory }\n')).toContain('must be a plain absolute path');
    expect(bad('name: x\nvariant: debug\n')).toContain('variant: unknown value `debug`');
    expect(bad('name: x\nname: y\n')).toMatch(/inline\.yaml:2:1: YAML: Map keys must be unique/);
    expect(bad('- just\n- a list\n')).toContain('a recipe is a mapping');
    expect(bad('name: x\nextra: [unclosed\n')).toMatch(/inline\.yaml:\d+:\d+: YAML:/);
  });

  it('refuses alias bombs, oversized input, custom tags, extends cycles and sources outside the recipe directory', () => {
    const bomb = ['name: x', 'a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    expect(failure(() => parseRecipe(bomb, 'bomb.yaml')).code).toBe('RECIPE_INVALID');
    expect(failure(() => parseRecipe(`name: x\ndescription: "${'x'.repeat(1024 * 1024)}"\n`, 'big.yaml')).message).toContain('larger than');
    expect(failure(() => parseRecipe('name: !evil x\n', 'tag.yaml')).message).toContain('tag.yaml:1:7: YAML: Unresolved tag: !evil');
    const cycle = failure(() => loadRecipe(join(fixtures, 'cycle-a.yaml')));
    expect(cycle.code).toBe('RECIPE_INVALID');
    expect(cycle.message).toContain('makes a cycle');
    const escape = failure(() => loadRecipe(join(fixtures, 'escape.yaml')));
    expect(escape.code).toBe('RECIPE_INVALID');
    expect(escape.message).toMatch(/escape\.yaml:5:13: paths\[0\]\.source: .* (leaves the recipe's directory|not found next to the recipe)/);
    expect(failure(() => loadRecipe(join(fixtures, 'missing.yaml'))).code).toBe('RECIPE_NOT_FOUND');
    expect(failure(() => parseRecipe('name: x\nextends: nowhere.yaml\n', join(fixtures, 'inline.yaml'))).code).toBe('RECIPE_NOT_FOUND');
  });

  it('suggests only near misses', () => {
    expect(closest('pakages', ['packages', 'repositories'])).toBe('packages');
    expect(closest('pcakages', ['packages'])).toBe('packages');
    expect(closest('entry-point', ['entrypoint', 'cmd'])).toBe('entrypoint');
    expect(closest('frobnicate', ['packages', 'paths'])).toBeUndefined();
  });
});

describe('loadRecipe values', () => {
  it('applies the documented defaults', () => {
    const recipe = parseRecipe('name: tiny\n', 'tiny.yaml');
    expect(recipe.archs).toEqual(['amd64', 'arm64']);
    expect(recipe.variant).toBe('runtime');
    expect(recipe.accounts.runAs).toBe('nonroot');
    expect(resolveRunAs(recipe)).toMatchObject({ uid: 65532, gid: 65532, user: { name: 'nonroot', home: '/home/nonroot' } });
    expect(recipe.contents).toEqual({ repositories: [], packages: [], exclude: [], locales: [] });
  });

  it('merges an extends chain: packages accumulate, !name removes a parent package, maps merge, the child wins', () => {
    const recipe = loadRecipe(join(fixtures, 'child.yaml'));
    expect(recipe.name).toBe('child');
    expect(recipe.description).toBe('a parent recipe');
    expect(recipe.contents.packages).toEqual(['base-files', 'tzdata', 'nginx']);
    expect(recipe.contents.exclude).toEqual(['perl-base']);
    expect(recipe.contents.repositories).toEqual([{ suite: 'bookworm', components: ['main'] }]);
    expect(recipe.environment).toEqual({ TZ: 'UTC', NGINX_PORT: '8080' });
    expect(recipe.labels).toEqual({ 'org.opencontainers.image.vendor': 'distill' });
    expect(recipe.ports).toEqual(['80/tcp']);
    expect(recipe.stopSignal).toBe('SIGQUIT');
    expect(recipe.files.map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual(['child.yaml', 'base-parent.yaml']);
    expect(resolveRunAs(recipe)).toMatchObject({ uid: 1000, gid: 1000, user: { name: 'app', home: '/home/app', shell: '/sbin/nologin' } });
    const [ca, srv, link] = recipe.paths;
    expect(ca).toMatchObject({ path: '/etc/app/extra-ca.crt', type: 'file', owner: 'app', mode: 0o640, source: 'files/extra-ca.crt' });
    expect(ca?.content?.toString()).toContain('BEGIN CERTIFICATE');
    expect(srv).toMatchObject({ type: 'directory', owner: '1000:1000', mode: 0o755 });
    expect(link).toMatchObject({ type: 'symlink', target: '/usr/sbin/nginx', mode: 0o777, owner: '0:0' });
    // variant dev asks the resolver for busybox as well.
    expect(requestedPackages(recipe)).toEqual({ include: ['base-files', 'tzdata', 'nginx', 'busybox'], exclude: ['perl-base'] });
  });

  it('exclude-paths: merged by path down an extends chain; a reason is required and paths may not climb', () => {
    const dir = mkdtempSync(join(tmpdir(), 'distill-exclude-'));
    writeFileSync(join(dir, 'parent.yaml'), 'name: parent\nexclude-paths:\n  - path: /usr/lib/*/gconv\n    reason: no iconv users\n');
    writeFileSync(join(dir, 'child.yaml'), 'name: child\nextends: parent.yaml\nexclude-paths:\n  - path: /usr/share/vim\n    reason: no editor\n  - path: /usr/lib/*/gconv\n    reason: still none\n');
    expect(loadRecipe(join(dir, 'child.yaml')).excludePaths).toEqual([{ path: '/usr/share/vim', reason: 'no editor' }, { path: '/usr/lib/*/gconv', reason: 'still none' }]);
    expect(loadRecipe(join(dir, 'parent.yaml')).excludePaths).toEqual([{ path: '/usr/lib/*/gconv', reason: 'no iconv users' }]);
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nexclude-paths:\n  - path: /usr/share/vim\n');
    expect(failure(() => loadRecipe(join(dir, 'bad.yaml'))).message).toMatch(/bad\.yaml:3:\d+.*reason/);
    for (const path of ['/usr/../etc', 'usr/lib', '/usr/./lib', '/a b']) {
      writeFileSync(join(dir, 'bad.yaml'), `name: bad\nexclude-paths:\n  - path: '${path}'\n    reason: x\n`);
      expect(failure(() => loadRecipe(join(dir, 'bad.yaml'))).code).toBe('RECIPE_INVALID');
    }
  });

  it('reads an unquoted `- !name` as an exclusion rather than a YAML tag', () => {
    const recipe = parseRecipe('name: x\ncontents:\n  packages:\n    - nginx\n    - !perl-base\n    - "!debconf"\n', 'x.yaml');
    expect(recipe.contents.exclude).toEqual(['perl-base', 'debconf']);
  });

  it('digests the canonical recipe: key order and file names do not matter, any value and source byte does', () => {
    const a = parseRecipe('name: x\nlabels: { a: "1", b: "2" }\ncontents: { packages: [nginx] }\n', 'one.yaml');
    const b = parseRecipe('contents: { packages: [nginx] }\nlabels: { b: "2", a: "1" }\nname: x\n', 'two.yaml');
    expect(recipeDigest(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(recipeDigest(a)).toBe(recipeDigest(b));
    expect(recipeDigest(parseRecipe('name: x\nlabels: { a: "1", b: "3" }\ncontents: { packages: [nginx] }\n'))).not.toBe(recipeDigest(a));
    const dir = mkdtempSync(join(tmpdir(), 'distill-recipe-'));
    writeFileSync(join(dir, 'f'), 'one');
    writeFileSync(join(dir, 'r.yaml'), 'name: x\npaths:\n  - { path: /f, type: file, source: f }\n');
    const first = recipeDigest(loadRecipe(join(dir, 'r.yaml')));
    writeFileSync(join(dir, 'f'), 'two');
    expect(recipeDigest(loadRecipe(join(dir, 'r.yaml')))).not.toBe(first);
  });
});
