import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { applyMirror, mirrorFromEnv, parseDeb822Sources, parseOneLineSources, parseSourcesFile, resolveRepositories } from './sources.js';

const HOST = '/etc/apt/sources.list.d/debian.sources';

describe('deb822 .sources', () => {
  it('expands URIs × Suites, keeps Signed-By and Architectures, skips deb-src and Enabled: no', () => {
    const text = [
      'Types: deb deb-src',
      'URIs: http://a.example/debian https://b.example/debian/',
      'Suites: bookworm bookworm-updates',
      'Components: main contrib',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      'Architectures: amd64 arm64',
      '',
      'Types: deb-src',
      'URIs: http://a.example/debian',
      'Suites: bookworm',
      'Components: main',
      '',
      '# disabled',
      'Types: deb',
      'URIs: http://c.example/debian',
      'Suites: trixie',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb',
      'URIs: http://d.example/debian',
      'Suites: bookworm',
      'Components: main',
      'Signed-By:',
      ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' .',
      ' mDMEZ...',
      ' -----END PGP PUBLIC KEY BLOCK-----',
    ].join('\n');
    const repos = parseDeb822Sources(text, 'x.sources');
    expect(repos.slice(0, 4).map((r) => `${r.uri} ${r.suite}`)).toEqual([
      'http://a.example/debian bookworm',
      'http://a.example/debian bookworm-updates',
      'https://b.example/debian bookworm',
      'https://b.example/debian bookworm-updates',
    ]);
    expect(repos[0]).toEqual({ uri: 'http://a.example/debian', suite: 'bookworm', components: ['main', 'contrib'], keyring: '/usr/share/keyrings/debian-archive-keyring.gpg', archs: ['amd64', 'arm64'] });
    expect(repos).toHaveLength(5);
    expect(repos[4]!.inlineKey).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(repos[4]!.keyring).toBeUndefined();
  });

  it.skipIf(!existsSync(HOST))('reads the host apt sources as apt does', () => {
    const repos = parseSourcesFile({ path: HOST, text: readFileSync(HOST, 'utf8') });
    expect(repos.length).toBeGreaterThan(0);
    for (const r of repos) {
      expect(r.uri).toMatch(/^https?:\/\//);
      expect(r.components.length).toBeGreaterThan(0);
    }
    expect(repos.some((r) => r.suite.endsWith('-security'))).toBe(true);
  });

  it('refuses entries it cannot use, naming the line', () => {
    expect(() => parseDeb822Sources('Types: deb\nSuites: bookworm\nComponents: main\n', 'y.sources')).toThrow(/y\.sources:1.*without URIs/);
    expect(() => parseDeb822Sources('Types: deb\nURIs: ftp://x/debian\nSuites: bookworm\nComponents: main\n')).toThrow(/ftp:/);
    expect(() => parseDeb822Sources('Types: deb\nURIs: http://x/debian\nSuites: ./\nComponents: main\n')).toThrow(/flat/);
    expect(() => parseDeb822Sources('Types: deb\nURIs: http://x/debian\nSuites: ../../etc\nComponents: main\n')).toThrow(/plain suite/);
  });
});

describe('one-line sources.list', () => {
  it('parses options, skips deb-src and comments', () => {
    const text = [
      '# comment',
      'deb [signed-by=/etc/apt/keyrings/x.gpg arch=amd64,arm64] http://a.example/debian bookworm main non-free-firmware',
      'deb-src http://a.example/debian bookworm main',
      'deb http://security.example/debian-security bookworm-security main # trailing',
      '',
    ].join('\n');
    expect(parseOneLineSources(text)).toEqual([
      { uri: 'http://a.example/debian', suite: 'bookworm', components: ['main', 'non-free-firmware'], keyring: '/etc/apt/keyrings/x.gpg', archs: ['amd64', 'arm64'] },
      { uri: 'http://security.example/debian-security', suite: 'bookworm-security', components: ['main'] },
    ]);
  });

  it('hostile lines are errors with their line number', () => {
    expect(() => parseOneLineSources('deb [arch=amd64 http://a/debian bookworm main', 'l.list')).toThrow(/l\.list:1.*unterminated/);
    expect(() => parseOneLineSources('\ndeb http://a/debian bookworm', 'l.list')).toThrow(/l\.list:2.*no components/);
    expect(() => parseOneLineSources('rpm http://a/ x y')).toThrow(/unknown source type/);
  });
});

describe('DISTILL_DEBIAN_MIRROR and precedence', () => {
  const host = [{ path: 'h.sources', text: 'Types: deb\nURIs: http://host.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://host.example/debian-security\nSuites: bookworm-security\nComponents: main\n' }];

  it('parses the variable from an env object', () => {
    expect(mirrorFromEnv({})).toBeUndefined();
    expect(mirrorFromEnv({ DISTILL_DEBIAN_MIRROR: '  ' })).toBeUndefined();
    expect(mirrorFromEnv({ DISTILL_DEBIAN_MIRROR: 'http://m.example/debian/' })).toEqual({ main: 'http://m.example/debian' });
    expect(mirrorFromEnv({ DISTILL_DEBIAN_MIRROR: 'http://m.example/debian security=http://m.example/debian-security' })).toEqual({ main: 'http://m.example/debian', security: 'http://m.example/debian-security' });
    expect(() => mirrorFromEnv({ DISTILL_DEBIAN_MIRROR: 'http://a/ http://b/' })).toThrow(/two main archives/);
    expect(() => mirrorFromEnv({ DISTILL_DEBIAN_MIRROR: 'not a url' })).toThrow(/not a URL/);
  });

  it('re-points host sources at the mirror (security only when given)', () => {
    const repos = resolveRepositories({ host, env: { DISTILL_DEBIAN_MIRROR: 'http://m.example/debian' } });
    expect(repos.map((r) => `${r.uri} ${r.suite}`)).toEqual(['http://m.example/debian bookworm', 'http://m.example/debian bookworm-updates', 'http://host.example/debian-security bookworm-security']);
    const both = applyMirror(repos, { main: 'http://m/debian', security: 'http://m/sec' });
    expect(both.map((r) => r.uri)).toEqual(['http://m/debian', 'http://m/debian', 'http://m/sec']);
  });

  it('without host sources, the mirror serves the suites given', () => {
    const repos = resolveRepositories({ env: { DISTILL_DEBIAN_MIRROR: 'http://m/debian security=http://m/sec' }, suites: ['bookworm', 'bookworm-security'] });
    expect(repos).toEqual([{ uri: 'http://m/debian', suite: 'bookworm', components: ['main'] }, { uri: 'http://m/sec', suite: 'bookworm-security', components: ['main'] }]);
    expect(() => resolveRepositories({ env: { DISTILL_DEBIAN_MIRROR: 'http://m/debian' } })).toThrow(/no suites/);
  });

  it('recipe repositories win over everything; nothing at all is a USAGE error', () => {
    const recipe = [{ uri: 'http://r.example/debian/', suite: 'bookworm', components: ['main'] }];
    expect(resolveRepositories({ recipe, host, env: { DISTILL_DEBIAN_MIRROR: 'http://m/debian' } })).toEqual([{ uri: 'http://r.example/debian', suite: 'bookworm', components: ['main'] }]);
    expect(resolveRepositories({ host }).map((r) => r.uri)).toEqual(['http://host.example/debian', 'http://host.example/debian', 'http://host.example/debian-security']);
    expect(() => resolveRepositories({})).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
