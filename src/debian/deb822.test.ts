import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../test/helpers/oracles.js';
import { field, parseDeb822 } from './deb822.js';

describe('parseDeb822', () => {
  it('parses fields, continuation lines, "." lines and comments', () => {
    const text = [
      '# a comment',
      'Package: hello',
      'Description: short',
      ' first line',
      ' .',
      ' third line',
      'Depends: libc6 (>= 2.34),',
      '  libfoo',
      '',
      '',
      'package: second',
      'VERSION: 1.0',
    ].join('\n');
    const { paragraphs, issues } = parseDeb822(text);
    expect(issues).toEqual([]);
    expect(paragraphs).toHaveLength(2);
    expect(field(paragraphs[0]!, 'Description')).toBe('short\nfirst line\n\nthird line');
    expect(field(paragraphs[0]!, 'depends')).toBe('libc6 (>= 2.34),\n libfoo');
    expect(field(paragraphs[1]!, 'Package')).toBe('second');
    expect(field(paragraphs[1]!, 'Version')).toBe('1.0');
    expect(paragraphs[1]!.line).toBe(11);
  });

  it('treats CRLF exactly like LF', () => {
    const lf = 'Package: a\nVersion: 1\nDescription: x\n y\n\nPackage: b\nVersion: 2\n';
    const crlf = parseDeb822(lf.replace(/\n/g, '\r\n'));
    expect(crlf.issues).toEqual([]);
    expect(crlf.paragraphs).toEqual(parseDeb822(lf).paragraphs);
  });

  it('decodes invalid UTF-8 with replacement and records INVALID_UTF8', () => {
    const buf = Buffer.concat([Buffer.from('Package: caf'), Buffer.from([0xc3, 0x28]), Buffer.from('\nVersion: 1\n')]);
    const { paragraphs, issues } = parseDeb822(buf, { path: '/var/lib/dpkg/status' });
    expect(issues.map((i) => i.code)).toEqual(['INVALID_UTF8']);
    expect(issues[0]!.path).toBe('/var/lib/dpkg/status');
    expect(field(paragraphs[0]!, 'Package')).toBe('caf\uFFFD(');
    expect(field(paragraphs[0]!, 'Version')).toBe('1');
  });

  it('drops an oversized field with an issue and keeps the rest, without hanging', () => {
    const giant = ' x'.repeat(600_000); // 1.2 MB of continuation
    const text = `Package: big\nDescription: start\n${giant.replace(/ x/g, ' xxxxxxxxxx\n').slice(0, 2_000_000)}\nVersion: 9\n\nPackage: next\nVersion: 1\n`;
    const started = Date.now();
    const { paragraphs, issues } = parseDeb822(text);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(issues.map((i) => i.code)).toEqual(['FILE_TOO_LARGE']);
    expect(field(paragraphs[0]!, 'Description')).toBeUndefined();
    expect(field(paragraphs[0]!, 'Version')).toBe('9');
    expect(field(paragraphs[1]!, 'Package')).toBe('next');
  });

  it('refuses input above the byte cap', () => {
    const { paragraphs, issues } = parseDeb822(Buffer.alloc(2048, 0x41), { maxBytes: 1024 });
    expect(paragraphs).toEqual([]);
    expect(issues[0]!.code).toBe('FILE_TOO_LARGE');
  });

  it('records malformed lines and bounds the number of issues', () => {
    const text = 'Package: a\n' + 'garbage line\n'.repeat(500) + 'Version: 1\n';
    const { paragraphs, issues } = parseDeb822(text, { maxIssues: 10 });
    expect(issues).toHaveLength(11);
    expect(issues[0]!.message).toContain('line 2');
    expect(issues[10]!.message).toContain('490 further problems');
    expect(field(paragraphs[0]!, 'Version')).toBe('1');
  });

  it('parses a truncated file up to where it ends', () => {
    const real = gunzipSync(readFileSync(join(sharedData, 'debian-bookworm-local-system', 'dpkg-status.gz')));
    const cut = real.subarray(0, Math.floor(real.length / 2));
    const { paragraphs } = parseDeb822(cut);
    const all = parseDeb822(real).paragraphs;
    expect(paragraphs.length).toBeGreaterThan(300);
    // Every paragraph but the cut one is identical to the full parse.
    for (let i = 0; i < paragraphs.length - 1; i++) expect(paragraphs[i]).toEqual(all[i]);
  });

  it('agrees with dpkg-query on every field of the real bookworm status file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deb822-'));
    const real = gunzipSync(readFileSync(join(sharedData, 'debian-bookworm-local-system', 'dpkg-status.gz')));
    writeFileSync(join(dir, 'status'), real);
    const out = execFileSync('dpkg-query', ['--admindir', dir, '-W', '-f', '${Package}\\t${Conffiles}\\t${Description}\\n==END==\\n'], { maxBuffer: 1 << 26 }).toString();
    const oracle = new Map<string, string>();
    for (const record of out.split('\n==END==\n')) {
      const [pkg, ...rest] = record.split('\t');
      // Values are trimmed at the end (dpkg keeps a trailing blank on the first line; meaningless).
      if (pkg) oracle.set(pkg, rest.join('\t').replace(/[ \t]+$/gm, ''));
    }
    const { paragraphs, issues } = parseDeb822(real);
    expect(issues).toEqual([]);
    expect(paragraphs).toHaveLength(753);
    for (const p of paragraphs) {
      // dpkg-query prints continuation lines with their leading space, as in the file, and no empty first line.
      const rebuild = (v: string | undefined) =>
        (v ?? '').split('\n').map((line, i) => (i === 0 ? line : ` ${line === '' ? '.' : line}`)).join('\n').replace(/^\n/, '');
      const conffiles = field(p, 'Conffiles');
      expect(`${conffiles === undefined ? '' : rebuild(conffiles)}\t${rebuild(field(p, 'Description'))}`).toBe(oracle.get(field(p, 'Package')!));
    }
  });
});
