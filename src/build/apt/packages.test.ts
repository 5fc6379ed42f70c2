import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { xz } from '@napi-rs/lzma';
import { sharedData } from '../../../test/helpers/oracles.js';
import { parsePackages, parseRelations } from './packages.js';

const dataDir = join(sharedData, 'debian-bookworm-local-system');

describe('parsePackages on the real bookworm amd64 index', () => {
  it('parses all 63,440 records fast, matching grep-dctrl-free counts and fields', async () => {
    const text = await xz.decompress(readFileSync(join(dataDir, 'bookworm_main_Packages.xz')));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const { records, issues } = parsePackages(text);
    const cpu = process.cpuUsage(c0);
    const ms = (cpu.user + cpu.system) / 1000;
    console.log(`parsePackages: ${records.length} records in ${(performance.now() - t0).toFixed(0)} ms wall, ${ms.toFixed(0)} ms CPU`);
    expect(records.length).toBe(63440);
    expect(issues).toEqual([]);
    // CPU time, not wall time: ~1.1-1.4 s here, and wall time on a shared 2-core machine says more about the load.
    expect(ms).toBeLessThan(3000);
    // Oracle: the number of "Package:" lines, and the raw paragraph of libc6 as xzgrep-free awk prints it.
    const count = Number(execFileSync('sh', ['-c', `xz -dc '${join(dataDir, 'bookworm_main_Packages.xz')}' | grep -c '^Package: '`], { encoding: 'utf8' }).trim());
    expect(records.length).toBe(count);
    const libc = records.find((r) => r.package === 'libc6')!;
    const awk = execFileSync('sh', ['-c', `xz -dc '${join(dataDir, 'bookworm_main_Packages.xz')}' | awk 'BEGIN{RS="";ORS="\\n"} /^Package: libc6\\n/'`], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(libc.raw).toBe(awk.trimEnd());
    expect(libc.source).toBe('glibc');
    expect(libc.multiArch).toBe('same');
    expect(libc.priority).toBe('optional');
    expect(libc.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(libc.filename).toMatch(/^pool\/main\/g\/glibc\/libc6_.*_amd64\.deb$/);
    expect(libc.depends.flat().map((d) => d.name)).toContain('libgcc-s1');
    const base = records.find((r) => r.package === 'base-files')!;
    expect(base.essential).toBe(true);
    // Versioned provides and source versions as they appear in the real index.
    const withSourceVersion = records.find((r) => r.sourceVersion !== undefined)!;
    expect(withSourceVersion.raw).toContain(`Source: ${withSourceVersion.source} (${withSourceVersion.sourceVersion})`);
    expect(records.some((r) => r.provides.some((p) => p.version !== undefined))).toBe(true);
    // Every Size/SHA256 parsed equals the raw text.
    for (const r of records.slice(0, 2000)) expect(r.raw).toContain(`SHA256: ${r.sha256}`);
  });
});

describe('relations and hostile paragraphs', () => {
  it('parses alternatives, version relations, arch qualifiers and obsolete operators', () => {
    expect(parseRelations('libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any, foo (< 1.0), bar [amd64] <!nocheck>')).toEqual([
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'debconf', op: '>=', version: '0.5' }, { name: 'debconf-2.0' }],
      [{ name: 'python3', arch: 'any' }],
      [{ name: 'foo', op: '<=', version: '1.0' }],
      [{ name: 'bar' }],
    ]);
  });

  it('drops records that could not be verified or that escape the repository, with issues', () => {
    const text = [
      'Package: ok\nVersion: 1\nArchitecture: all\nFilename: pool/ok.deb\nSize: 3\nSHA256: ' + 'a'.repeat(64),
      'Package: nohash\nVersion: 1\nArchitecture: all\nFilename: pool/x.deb\nSize: 3',
      'Package: escape\nVersion: 1\nArchitecture: all\nFilename: ../../etc/passwd\nSize: 3\nSHA256: ' + 'b'.repeat(64),
      'Package: badsize\nVersion: 1\nArchitecture: all\nFilename: pool/y.deb\nSize: -1\nSHA256: ' + 'c'.repeat(64),
      'garbage line without colon',
      '\n\n\n',
      'Package: weird\nVersion: 1\nArchitecture: all\nFilename: pool/w.deb\nSize: 1\nSHA256: ' + 'd'.repeat(64) + '\nDepends: !!!, ok',
    ].join('\n\n');
    const { records, issues } = parsePackages(text);
    expect(records.map((r) => r.package)).toEqual(['ok', 'weird']);
    expect(records[1]!.depends).toEqual([[{ name: 'ok' }]]);
    expect(issues.length).toBeGreaterThanOrEqual(5);
  });
});
