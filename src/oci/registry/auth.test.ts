import { describe, expect, it } from 'vitest';
import { DistillError } from '../../errors.js';
import { basicHeader, chainCredentials, dockerConfigCredentials, parseChallenge, staticCredentials, TokenCache } from './auth.js';

describe('parseChallenge', () => {
  it.each([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"', 'bearer', { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' }],
    ['Basic realm="Registry Realm"', 'basic', { realm: 'Registry Realm' }],
    ['bearer realm=https://x/token, service=reg', 'bearer', { realm: 'https://x/token', service: 'reg' }],
    ['Bearer realm="a\\"b",scope="repository:a:pull repository:b:pull"', 'bearer', { realm: 'a"b', scope: 'repository:a:pull repository:b:pull' }],
    ['Bearer error="insufficient_scope",realm="https://r/t",service="s",scope="repository:x:pull,push"', 'bearer', { error: 'insufficient_scope', realm: 'https://r/t', service: 's', scope: 'repository:x:pull,push' }],
  ])('%s', (header, scheme, params) => {
    expect(parseChallenge(header)).toEqual({ scheme, params });
  });

  it('ignores other schemes and garbage', () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge('')).toBeUndefined();
    expect(parseChallenge('Bearer ' + '=,'.repeat(10_000))).toEqual({ scheme: 'bearer', params: {} });
  });
});

describe('dockerConfigCredentials', () => {
  const auth = Buffer.from('alice:pa:ss').toString('base64');

  it('reads auths (base64 user:password, with a colon in the password), under Docker spellings of the host', async () => {
    const provider = dockerConfigCredentials({ auths: { 'https://index.docker.io/v1/': { auth }, 'https://ghcr.io': { auth }, 'reg:5000': { username: 'bob', password: 'pw' }, 'tok.example': { identitytoken: 'refresh' } } });
    expect(await provider('docker.io')).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(await provider('ghcr.io')).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(await provider('reg:5000')).toEqual({ username: 'bob', password: 'pw' });
    expect(await provider('tok.example')).toEqual({ identityToken: 'refresh' });
    expect(await provider('other.example')).toBeUndefined();
  });

  it('prefers credHelpers, then auths, then credsStore; a store without the entry means anonymous', async () => {
    const asked: string[] = [];
    const runner = async (helper: string, server: string) => {
      asked.push(`${helper} ${server}`);
      if (helper === 'store') throw new Error('credentials not found in native keychain');
      return JSON.stringify({ Username: helper === 'tokenish' ? '<token>' : 'helper-user', Secret: 'helper-secret' });
    };
    const provider = dockerConfigCredentials({ auths: { 'a.example': { auth } }, credHelpers: { 'a.example': 'ecr', 'b.example': 'tokenish' }, credsStore: 'store' }, runner);
    expect(await provider('a.example')).toEqual({ username: 'helper-user', password: 'helper-secret' });
    expect(await provider('b.example')).toEqual({ identityToken: 'helper-secret' });
    expect(await provider('c.example')).toBeUndefined();
    expect(asked).toEqual(['ecr a.example', 'tokenish b.example', 'store c.example']);
  });

  it('malformed entries fail with REGISTRY_AUTH_FAILED and never echo the secret', async () => {
    const provider = dockerConfigCredentials({ auths: { 'x.example': { auth: Buffer.from('no-colon-secret').toString('base64') } } });
    await expect(provider('x.example')).rejects.toBeInstanceOf(DistillError);
    await provider('x.example').catch((error: DistillError) => {
      expect(error.code).toBe('REGISTRY_AUTH_FAILED');
      expect(error.message).not.toContain('no-colon-secret');
    });
    const badHelper = dockerConfigCredentials({ credHelpers: { 'y.example': 'h' } }, async () => 'not json {secret}');
    await badHelper('y.example').catch((error: DistillError) => expect(error.message).not.toContain('secret}'));
  });

  it('chains providers and scopes static ones to a registry', async () => {
    const chain = chainCredentials(undefined, staticCredentials({ username: 'u', password: 'p' }, 'only.example'), staticCredentials({ identityToken: 't' }));
    expect(await chain('only.example')).toEqual({ username: 'u', password: 'p' });
    expect(await chain('else.example')).toEqual({ identityToken: 't' });
    expect(basicHeader({ username: 'u', password: 'p' })).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });
});

describe('TokenCache', () => {
  it('keys by registry and scope set (order-insensitive) and expires early', () => {
    const cache = new TokenCache();
    const key = TokenCache.key('r', ['repository:a:pull', 'repository:b:pull']);
    expect(TokenCache.key('r', ['repository:b:pull', 'repository:a:pull'])).toBe(key);
    expect(TokenCache.key('r', ['repository:a:pull,push'])).not.toBe(TokenCache.key('r', ['repository:a:pull']));
    cache.set(key, 'tok', 60, 1_000_000);
    expect(cache.get(key, 1_000_000 + 49_000)).toBe('tok');
    expect(cache.get(key, 1_000_000 + 51_000)).toBeUndefined();
  });
});
