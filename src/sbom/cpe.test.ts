import { describe, expect, it } from 'vitest';
import { cpesFor, escapeCpeValue, formatCpe, parseCpe, upstreamVersion } from './cpe.js';

describe('CPE 2.3 formatted-string escaping (NISTIR 7695 §6.2)', () => {
  it('quotes punctuation except - . _ and keeps ANY for empty values', () => {
    expect(escapeCpeValue('1:1.2.13')).toBe('1\\:1.2.13');
    expect(escapeCpeValue('2.36-9+deb12u14')).toBe('2.36-9\\+deb12u14');
    expect(escapeCpeValue('libstdc++6')).toBe('libstdc\\+\\+6');
    expect(escapeCpeValue('a*b?c')).toBe('a\\*b\\?c');
    expect(escapeCpeValue('foo~bar!')).toBe('foo\\~bar\\!');
    expect(escapeCpeValue('Node.js')).toBe('node.js');
    expect(escapeCpeValue('two words')).toBe('two_words');
    expect(escapeCpeValue('')).toBe('*');
    expect(escapeCpeValue(undefined)).toBe('*');
    expect(escapeCpeValue('-')).toBe('\\-');
    expect(escapeCpeValue('é\u0001')).toBe('__');
  });

  it('formats and parses back', () => {
    const cpe = formatCpe({ part: 'a', vendor: 'haxx', product: 'curl', version: '7.88.1' });
    expect(cpe).toBe('cpe:2.3:a:haxx:curl:7.88.1:*:*:*:*:*:*:*');
    const odd = formatCpe({ part: 'a', vendor: 'x:y', product: 'p\\q', version: '1:2', targetSw: 'node.js' });
    expect(odd).toBe('cpe:2.3:a:x\\:y:p\\\\q:1\\:2:*:*:*:*:node.js:*:*');
    expect(parseCpe(odd)).toEqual({ part: 'a', vendor: 'x:y', product: 'p\\q', version: '1:2', targetSw: 'node.js' });
  });

  it('rejects strings that are not CPE 2.3', () => {
    for (const bad of ['', 'cpe:/a:haxx:curl:7.88.1', 'cpe:2.3:a:haxx:curl', 'cpe:2.3:x:a:b:c:*:*:*:*:*:*:*', `cpe:2.3:a:${'a'.repeat(3000)}`]) {
      expect(parseCpe(bad)).toBeUndefined();
    }
  });
});

describe('cpesFor', () => {
  it('uses the source package and the upstream version for OS packages', () => {
    expect(upstreamVersion('1:1.2.13.dfsg-1+deb12u1', 'deb')).toBe('1.2.13');
    expect(upstreamVersion('3.0.19-1~deb12u2', 'deb')).toBe('3.0.19');
    expect(upstreamVersion('2025b-0+deb12u2', 'deb')).toBe('2025b');
    expect(upstreamVersion('1.2.5-r0', 'apk')).toBe('1.2.5');
    expect(cpesFor({ type: 'deb', name: 'libssl3', version: '3.0.19-1~deb12u2', sourceName: 'openssl', sourceVersion: '3.0.19-1~deb12u2' })).toEqual([
      'cpe:2.3:a:openssl:openssl:3.0.19:*:*:*:*:*:*:*',
    ]);
    expect(cpesFor({ type: 'deb', name: 'libcurl4', version: '7.88.1-10+deb12u14', sourceName: 'curl', sourceVersion: '7.88.1-10+deb12u14' })).toEqual([
      'cpe:2.3:a:haxx:curl:7.88.1:*:*:*:*:*:*:*',
    ]);
    expect(cpesFor({ type: 'deb', name: 'zlib1g', version: '1:1.2.13.dfsg-1', sourceName: 'zlib', sourceVersion: '1:1.2.13.dfsg-1' })).toEqual([
      'cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*',
    ]);
    // Unknown to the table: Syft's fallback, vendor = product = source name.
    expect(cpesFor({ type: 'deb', name: 'libacl1', version: '2.3.1-3', sourceName: 'acl', sourceVersion: '2.3.1-3' })).toEqual(['cpe:2.3:a:acl:acl:2.3.1:*:*:*:*:*:*:*']);
    expect(cpesFor({ type: 'apk', name: 'libcrypto3', version: '3.3.2-r0', origin: 'openssl' })).toEqual(['cpe:2.3:a:openssl:openssl:3.3.2:*:*:*:*:*:*:*']);
  });

  it('derives language-package CPEs modestly', () => {
    expect(cpesFor({ type: 'npm', name: 'lodash', version: '4.17.21' })).toEqual(['cpe:2.3:a:lodash:lodash:4.17.21:*:*:*:*:node.js:*:*']);
    expect(cpesFor({ type: 'npm', name: '@babel/core', version: '7.24.0' })).toEqual(['cpe:2.3:a:babel:core:7.24.0:*:*:*:*:node.js:*:*']);
    expect(cpesFor({ type: 'python', name: 'Typing_Extensions', version: '4.12.2' })).toEqual([
      'cpe:2.3:a:typing-extensions:typing-extensions:4.12.2:*:*:*:*:python:*:*',
    ]);
    expect(cpesFor({ type: 'go-module', name: 'github.com/spf13/cobra', version: 'v1.8.0' })).toEqual(['cpe:2.3:a:spf13:cobra:1.8.0:*:*:*:*:*:*:*']);
    expect(cpesFor({ type: 'go-module', name: 'golang.org/x/net', version: 'v0.23.0' })).toEqual(['cpe:2.3:a:golang:net:0.23.0:*:*:*:*:*:*:*']);
    expect(cpesFor({ type: 'go-module', name: 'stdlib', version: 'go1.22.1' })).toEqual(['cpe:2.3:a:golang:go:1.22.1:*:*:*:*:*:*:*']);
    expect(cpesFor({ type: 'go-module', name: 'gopkg.in/yaml.v3', version: 'v3.0.1' })).toEqual([]);
    expect(cpesFor({ type: 'java-archive', name: 'log4j-core', version: '2.17.1', groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core' })).toEqual([
      'cpe:2.3:a:apache:log4j-core:2.17.1:*:*:*:*:*:*:*',
    ]);
    expect(cpesFor({ type: 'npm', name: 'lodash', version: '' })).toEqual([]);
  });

  it('every generated CPE parses back to its attributes', () => {
    const cpe = cpesFor({ type: 'deb', name: 'libstdc++6', version: '12.2.0-14+deb12u1', sourceName: 'gcc-12', sourceVersion: '12.2.0-14+deb12u1' })[0] as string;
    expect(cpe).toBe('cpe:2.3:a:gcc-12:gcc-12:12.2.0:*:*:*:*:*:*:*');
    expect(parseCpe(cpe)).toMatchObject({ vendor: 'gcc-12', product: 'gcc-12', version: '12.2.0' });
  });
});
