import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSecrets, findSecretsInAssignment, looksBinary, MAX_MATCHES_PER_TEXT, redact, SECRET_RULES } from './secret-rules.js';

const corpus = resolve(import.meta.dirname, '..', '..', 'test', 'fixtures', 'compliance', 'secrets');

describe('secret rules on the test corpus', () => {
  const positives = readdirSync(join(corpus, 'positive')).sort();
  it.each(positives)('finds %s', (name) => {
    const rule = name.split('.')[0]!;
    const text = readFileSync(join(corpus, 'positive', name), 'latin1');
    const found = findSecrets(text);
    expect(found.map((m) => m.rule)).toContain(rule);
    // The report never carries the secret itself.
    for (const m of found) expect(text.includes(m.match.replace(/^-----BEGIN [A-Z ]+----- /, '').replace(/^service_account /, ''))).toBe(false);
  });

  it.each(readdirSync(join(corpus, 'negative')).sort())('finds nothing in the near miss %s', (name) => {
    expect(findSecrets(readFileSync(join(corpus, 'negative', name), 'latin1'))).toEqual([]);
  });

  it('covers every rule except the assignment rule with a positive file', () => {
    const covered = new Set(positives.map((n) => n.split('.')[0]));
    expect(SECRET_RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual(['password-assignment']);
  });

  it('reports the line of each match', () => {
    const text = readFileSync(join(corpus, 'positive', 'aws-access-key-id.credentials'), 'latin1');
    const found = findSecrets(text);
    expect(found.find((m) => m.rule === 'aws-access-key-id')!.line).toBe(2);
    expect(found.find((m) => m.rule === 'aws-secret-access-key')!.line).toBe(3);
  });
});

describe('credential assignments', () => {
  it('flags literal credentials by name and ignores pointers, references and PWD', () => {
    expect(findSecretsInAssignment('DB_PASSWORD', 'hunter2', 'env').map((m) => m.rule)).toEqual(['password-assignment']);
    expect(findSecretsInAssignment('api_key', 'abc123def', 'label').map((m) => m.rule)).toEqual(['password-assignment']);
    expect(findSecretsInAssignment('MYSQL_ROOT_PASSWORD', '"s3cret"', 'dockerfile')[0]!.match).toBe('MYSQL_ROOT_PASSWORD=******');
    expect(findSecretsInAssignment('DB_PASSWORD_FILE', '/run/secrets/db', 'env')).toEqual([]);
    expect(findSecretsInAssignment('DB_PASSWORD', '${DB_PASSWORD}', 'dockerfile')).toEqual([]);
    expect(findSecretsInAssignment('PWD', '/app', 'env')).toEqual([]);
    expect(findSecretsInAssignment('GPG_KEY', 'A035C8C19219BA821ECEA86B64E628F8D684696D', 'env')).toEqual([]);
    expect(findSecretsInAssignment('PASSWORD', '', 'env')).toEqual([]);
    expect(findSecretsInAssignment('PASSPORT_OFFICE', 'x', 'env')).toEqual([]);
  });

  it('applies the token rules to any value', () => {
    expect(findSecretsInAssignment('NOTE', `ghp_${'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'}`, 'label').map((m) => m.rule)).toEqual(['github-token']);
  });
});

describe('hostile input', () => {
  it('handles a 8 MiB single line without a newline quickly', () => {
    const start = Date.now();
    expect(findSecrets('A'.repeat(8 * 1024 * 1024))).toEqual([]);
    expect(findSecrets(`${'AKIA'.repeat(1_000_000)}`)).toEqual([]);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('bounds the number of matches and handles an unterminated PEM block', () => {
    const many = Array.from({ length: 500 }, (_, i) => `AKIA${'ABCDEFGHIJKLMNOP'.slice(i % 8)}${'QRSTUVWX'.slice(0, i % 8)}`).join('\n');
    expect(findSecrets(many).length).toBeLessThanOrEqual(MAX_MATCHES_PER_TEXT);
    expect(findSecrets(`-----BEGIN PRIVATE KEY-----\n${'QUJD'.repeat(100_000)}\n`)).toEqual([]);
    expect(findSecrets('-----BEGIN PRIVATE KEY-----'.repeat(10_000))).toEqual([]);
  });

  it('recognises binary content by a NUL byte', () => {
    expect(looksBinary(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1]))).toBe(true);
    expect(looksBinary(Buffer.from('plain text\n'))).toBe(false);
  });

  it('redacts all but a short prefix and suffix', () => {
    expect(redact('AKIAABCDEFGHIJKLMNOP')).toBe('AKIA************MNOP');
    expect(redact('short')).toBe('*****');
  });
});
