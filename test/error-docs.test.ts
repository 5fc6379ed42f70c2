/** @module test/error-docs — docs/errors.md documents every error code, with the exit code the CLI really uses, and every code has a hint. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { hintFor } from '../src/cli/hints.js';
import type { ErrorCode } from '../src/errors.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const errorsTs = readFileSync(resolve(root, 'src/errors.ts'), 'utf8');
const start = errorsTs.indexOf('export type ErrorCode');
// Doc comments inside the union contain semicolons; the union itself ends at the first `';`.
const union = errorsTs.slice(start, errorsTs.indexOf("';", start) + 1).replace(/\/\*\*[\s\S]*?\*\//g, '');
const codes = [...union.matchAll(/'([A-Z0-9_]+)'/g)].map((m) => m[1]! as ErrorCode);
const docs = readFileSync(resolve(root, 'docs/errors.md'), 'utf8');

/** Table rows of docs/errors.md whose first cell names the code (cells like "`A` / `B`" name several). */
function docRow(code: ErrorCode): string[] | undefined {
  for (const line of docs.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    if ([...(cells[1] ?? '').matchAll(/`([A-Z0-9_]+)`/g)].some((m) => m[1] === code)) return cells;
  }
  return undefined;
}

describe('docs/errors.md', () => {
  it('finds the error codes in src/errors.ts', () => {
    expect(codes.length).toBeGreaterThan(60);
    expect(codes).toContain('DIGEST_MISMATCH');
  });

  it.each(codes)('%s is documented with its exit code and has a hint', (code) => {
    const row = docRow(code);
    expect(row, `${code} missing from docs/errors.md`).toBeDefined();
    const exit = row![2] ?? '';
    // Server-only codes are HTTP statuses, not exit codes.
    if (!exit.startsWith('(HTTP')) expect(Number(exit), `${code}: documented exit ${exit}`).toBe(exitCodeFor(code));
    expect(hintFor(code).length).toBeGreaterThan(10);
  });
});
