import { describe, expect, it } from 'vitest';
import { parseJobSpec } from './job-types.js';

describe('parseJobSpec', () => {
  it('accepts the three kinds and drops nothing it knows', () => {
    expect(parseJobSpec({ kind: 'scan', reference: 'sbom:/x.json', image: 'nginx', role: 'stock', reason: 'manual' })).toEqual({ kind: 'scan', reference: 'sbom:/x.json', image: 'nginx', role: 'stock', reason: 'manual' });
    expect(parseJobSpec({ kind: 'build', recipe: '/images/nginx.yaml', archs: ['amd64'] })).toEqual({ kind: 'build', recipe: '/images/nginx.yaml', archs: ['amd64'] });
    expect(parseJobSpec({ kind: 'rescan', scanId: 'abc' })).toEqual({ kind: 'rescan', scanId: 'abc' });
  });

  it('refuses hostile or malformed job data with a clear code', () => {
    const bad: unknown[] = [
      null,
      [],
      'scan',
      { kind: 'exec', command: 'rm -rf /' },
      { kind: 'scan' },
      { kind: 'scan', reference: 'a', sbom: { packages: [] } },
      { kind: 'scan', sbom: { packages: 'nope' } },
      { kind: 'scan', reference: 'x'.repeat(5000) },
      { kind: 'scan', reference: 'sbom:/x', role: "admin' --" },
      { kind: 'build' },
      { kind: 'build', recipe: 'r.yaml', archs: ['amd64; rm -rf /'] },
      { kind: 'rescan', scanId: 42 },
      { kind: '__proto__' },
    ];
    for (const value of bad) expect(() => parseJobSpec(value), JSON.stringify(value)?.slice(0, 60)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(USAGE|SBOM_INVALID)$/) }));
  });
});
