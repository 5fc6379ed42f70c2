/** @module test/architecture — enforces ARCHITECTURE.md: import direction, who may touch process/console, file conventions. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Lower ranks never import higher ones (ARCHITECTURE.md, "Import direction"); areas of one rank may share types. */
const RANK: Record<string, number> = {
  errors: 0, events: 0,
  oci: 1, versions: 1, sbom: 1, vuln: 1, tar: 1, debian: 1,
  filesystem: 2,
  catalog: 3, match: 3, enrich: 3, feeds: 3,
  report: 4, compare: 4, triage: 4, compliance: 4,
  build: 5,
  storage: 6, jobs: 6,
  index: 7, server: 8, cli: 8,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The tar format (and the FileEntry type it produces) is shared by the image archives in oci/ and the layer
 * index in filesystem/, so it ranks with oci/ although it lives under filesystem/ as ARCHITECTURE.md lays out.
 */
const FORMAT_FILES = /^filesystem\/(tar\/|file-entry\.[jt]s$)/;

function areaOf(file: string): string {
  const path = relative(src, file);
  if (FORMAT_FILES.test(path)) return 'tar';
  return path.split('/')[0]!.replace(/\.(ts|js)$/, '');
}

const files = sourceFiles(src);
const production = files.filter((file) => !file.endsWith('.test.ts'));

describe('architecture', () => {
  it('has source files in known areas only', () => {
    expect(production.length).toBeGreaterThan(10);
    for (const file of files) expect(RANK, relative(src, file)).toHaveProperty(areaOf(file));
  });

  it('imports only downwards', () => {
    const violations: string[] = [];
    for (const file of production) {
      const from = areaOf(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
        const target = resolve(dirname(file), match[1]!);
        const to = areaOf(target);
        if (to === from) continue;
        const ok = RANK[to]! <= RANK[from]! && !(from === 'build' && (to === 'catalog' || to === 'match'));
        if (!ok) violations.push(`${relative(src, file)} → ${relative(src, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps process and console to the CLI and server', () => {
    const offenders = production
      .filter((file) => !['cli', 'server'].includes(areaOf(file)))
      .filter((file) => /\b(process\.(argv|exit|env|stdout|stderr|stdin|cwd)|console\.)/.test(readFileSync(file, 'utf8')));
    expect(offenders.map((file) => relative(src, file))).toEqual([]);
  });

  it('names files in kebab-case and opens each with a one-line module comment', () => {
    for (const file of files) {
      const name = relative(src, file);
      expect(name, name).toMatch(/^[a-z0-9/-]+((\.[a-z]+)?\.test)?\.ts$/);
      const lines = readFileSync(file, 'utf8').split('\n').filter((line) => !line.startsWith('#!'));
      if (!file.endsWith('.test.ts')) expect(lines[0], name).toMatch(/^\/\*\* @module \S+ — .+\*\/$/);
    }
  });
});
