import { describe, expect, it } from 'vitest';
import type { ScanHeader } from '../storage/app-store.js';
import { describeChanges, diffPackages, newestPerSubject } from './watch.js';

describe('diffPackages', () => {
  it('names upgrades, additions and removals per (name, arch), in name order', () => {
    const before = [
      { name: 'libssl3', version: '3.0.15-1~deb12u1', arch: 'amd64' },
      { name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' },
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' },
    ];
    const after = [
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' },
      { name: 'libssl3', version: '3.0.16-1~deb12u1', arch: 'amd64' },
      { name: 'ca-certificates', version: '20230311', arch: 'all' },
    ];
    const changes = diffPackages(before, after);
    expect(changes).toEqual([
      { name: 'ca-certificates', arch: 'all', to: '20230311' },
      { name: 'libssl3', arch: 'amd64', from: '3.0.15-1~deb12u1', to: '3.0.16-1~deb12u1' },
      { name: 'tzdata', arch: 'all', from: '2024a-0+deb12u1' },
    ]);
    expect(describeChanges(changes)).toBe('+ca-certificates 20230311, libssl3 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1, -tzdata 2024a-0+deb12u1');
    expect(diffPackages(after, [...after].reverse())).toEqual([]);
  });

  it('keeps the description short for large upgrades', () => {
    const before = Array.from({ length: 12 }, (_, i) => ({ name: `p${String(i).padStart(2, '0')}`, version: '1', arch: 'amd64' }));
    const after = before.map((p) => ({ ...p, version: '2' }));
    expect(describeChanges(diffPackages(before, after))).toMatch(/, and 4 more$/);
  });
});

describe('newestPerSubject', () => {
  const header = (id: string, createdAt: string, subject: string, image?: string): ScanHeader => ({
    id,
    ...(image !== undefined ? { image } : {}),
    role: 'upload',
    subject,
    createdAt,
    packages: 0,
    summary: { bySeverity: { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 }, total: 0, fixable: 0, kev: 0, epssAbove0_1: 0, suppressed: 0, negligibleHidden: 0, filtered: 0 },
    dbDigest: 'sha256:0',
    reason: 'upload',
  });

  it('keeps one scan per image, role and subject: the newest', () => {
    const kept = newestPerSubject([header('a', '2026-01-01T00:00:00.000Z', 'x.json'), header('b', '2026-02-01T00:00:00.000Z', 'x.json'), header('c', '2026-01-01T00:00:00.000Z', 'y.json'), header('d', '2026-01-01T00:00:00.000Z', 'x.json', 'nginx')]);
    expect(kept.map((h) => h.id).sort()).toEqual(['b', 'c', 'd']);
  });
});
