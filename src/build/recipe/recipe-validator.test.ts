/** @module build/recipe/recipe-validator.test — the committed standalone recipe validator is exactly what Ajv generates from recipe.schema.json today. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { describe, expect, it } from 'vitest';
import { validateRecipeSchema } from './recipe-validator.js';

const dir = import.meta.dirname;

/** The generated module: Ajv's standalone code for the schema (same options recipe.ts documents), as ESM. */
function generate(): string {
  const schema = JSON.parse(readFileSync(join(dir, 'recipe.schema.json'), 'utf8')) as object;
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true, code: { source: true, esm: true } });
  const code = standaloneCode.default(ajv, ajv.compile(schema));
  // Ajv's ESM output still requires its runtime helper: import it instead.
  const body = code.replace('const func2 = require("ajv/dist/runtime/ucs2length").default;', "const func2 = typeof ucs2length === 'function' ? ucs2length : ucs2length.default;");
  if (body.includes('require(')) throw new Error('the generated validator requires another Ajv runtime module: import it like ucs2length');
  return [
    '/** @module build/recipe/recipe-validator — GENERATED from recipe.schema.json by recipe-validator.test.ts (DISTILL_REGENERATE=1): Ajv standalone code, so no schema is compiled at startup. */',
    '// @ts-nocheck',
    '/* eslint-disable */',
    "import ucs2length from 'ajv/dist/runtime/ucs2length.js';",
    body.replace(/^"use strict";/, ''),
    'export const validateRecipeSchema = validate20;',
    '',
  ].join('\n');
}

describe('standalone recipe validator', () => {
  it('matches what Ajv generates from the current schema (regenerate with DISTILL_REGENERATE=1)', () => {
    const path = join(dir, 'recipe-validator.ts');
    const fresh = generate();
    if (process.env.DISTILL_REGENERATE === '1') writeFileSync(path, fresh);
    expect(readFileSync(path, 'utf8')).toBe(fresh);
  });

  it('validates like the schema: a good recipe passes, a bad one reports the path', () => {
    expect(validateRecipeSchema({ name: 'x', contents: { packages: ['nginx'] } })).toBe(true);
    expect(validateRecipeSchema({ name: 'x', 'exclude-paths': [{ path: '/usr/share/vim' }] })).toBe(false);
    expect((validateRecipeSchema as unknown as { errors: { instancePath: string; keyword: string }[] }).errors.map((e) => [e.instancePath, e.keyword])).toContainEqual(['/exclude-paths/0', 'required']);
    expect(validateRecipeSchema({ name: '' })).toBe(false);
  });
});
