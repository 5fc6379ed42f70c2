/** @module compliance/secret-rules — the small, documented rule set for secrets in files, environment, labels, Dockerfiles and history. */

/** Where a piece of text came from; some rules only make sense in some places. */
export type SecretContext = 'file' | 'env' | 'label' | 'dockerfile' | 'history';

export interface SecretRule {
  id: string;
  title: string;
  /** Why the rule exists and how it avoids the usual false positives (shown in docs/comply.md). */
  description: string;
}

/** One secret found in a text. The secret itself is never kept: `match` is redacted. */
export interface SecretMatch {
  rule: string;
  title: string;
  /** 1-based line of the match in the text. */
  line: number;
  /** The secret with everything but a short prefix and suffix masked. */
  match: string;
}

/** Bounds for hostile input: texts longer than this are cut, and a text yields at most this many matches. */
export const MAX_SECRET_TEXT = 8 * 1024 * 1024;
export const MAX_MATCHES_PER_TEXT = 50;

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'private-key',
    title: 'PEM private key',
    description:
      'A `-----BEGIN … PRIVATE KEY-----` block (PKCS#1 RSA, EC, DSA, PKCS#8, encrypted PKCS#8) with its matching END line and at least 64 base64 characters in between. Public keys, certificates and the bare header strings that TLS libraries contain are not matched.',
  },
  {
    id: 'openssh-private-key',
    title: 'OpenSSH private key',
    description: 'A `-----BEGIN OPENSSH PRIVATE KEY-----` block with its END line and a base64 body that decodes to the `openssh-key-v1` magic.',
  },
  {
    id: 'aws-access-key-id',
    title: 'AWS access key id',
    description:
      'A 20-character access key id: `AKIA` (long-term) or `ASIA` (temporary) followed by 16 characters of the base32 alphabet AWS uses (A–Z, 2–7), standing alone. The documentation example `AKIAIOSFODNN7EXAMPLE` and other ids ending in `EXAMPLE` are ignored.',
  },
  {
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    description:
      'A 40-character base64 value assigned to a name containing `aws_secret_access_key` / `AWS_SECRET_ACCESS_KEY` / `SecretAccessKey` (credentials files, env files, JSON). A bare 40-character string is not matched: it is indistinguishable from a hash. Values containing `EXAMPLE` are ignored.',
  },
  {
    id: 'gcp-service-account',
    title: 'Google Cloud service-account key',
    description: 'JSON with `"type": "service_account"` and a `"private_key"` holding a PEM private key (the file `gcloud iam service-accounts keys create` writes). Service-account JSON without a key is not matched.',
  },
  {
    id: 'github-token',
    title: 'GitHub token',
    description: 'Classic tokens `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36 alphanumerics, and fine-grained `github_pat_` + 22 + `_` + 59 characters. Placeholders (few distinct characters, e.g. `ghp_xxxx…`) are ignored.',
  },
  {
    id: 'gitlab-token',
    title: 'GitLab personal access token',
    description: '`glpat-` followed by 20 characters of `[A-Za-z0-9_-]`, standing alone; placeholders are ignored.',
  },
  {
    id: 'slack-token',
    title: 'Slack token or webhook',
    description: 'Slack API tokens `xoxb-`/`xoxp-`/`xoxa-`/`xoxr-`/`xoxs-` with their numeric team/user segments and a final 24–40 character secret, and incoming-webhook URLs `https://hooks.slack.com/services/T…/B…/…`.',
  },
  {
    id: 'password-assignment',
    title: 'Credential in a variable',
    description:
      'Environment variables, labels, Dockerfile ARG/ENV and build arguments recorded in history whose name says credential (`PASSWORD`, `PASSWD`, `SECRET`, `TOKEN`, `API_KEY`, `ACCESS_KEY`, `PRIVATE_KEY`, `CREDENTIALS` as a word of the name) with a literal non-empty value. Names ending in `_FILE`, `_PATH` or `_DIR` (they point at a secret, they do not hold it), values that are variable references (`$X`, `${X}`), and `PWD`/`OLDPWD` are not matched. Not applied to file contents (too many configuration examples).',
  },
];

const TITLES = new Map(SECRET_RULES.map((r) => [r.id, r.title]));

/** Keeps the first and last few characters so a user can recognise the secret without the report leaking it. */
export function redact(secret: string): string {
  const s = secret.replace(/\s+/g, ' ');
  if (s.length <= 8) return '*'.repeat(s.length);
  const keep = s.length >= 20 ? 4 : 2;
  return `${s.slice(0, keep)}${'*'.repeat(Math.min(s.length - 2 * keep, 16))}${s.slice(-keep)}`;
}

/** True when a value is obviously a placeholder: very few distinct characters (`xxxx…`, `0000…`). */
function placeholder(value: string): boolean {
  return new Set(value).size < 6;
}

/** Line number of an offset, counting from a known (offset, line) pair forward (matches come in order). */
class LineCounter {
  private offset = 0;
  private line = 1;
  constructor(private readonly text: string) {}
  at(position: number): number {
    if (position < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    for (let i = this.text.indexOf('\n', this.offset); i !== -1 && i < position; i = this.text.indexOf('\n', i + 1)) this.line++;
    this.offset = position;
    return this.line;
  }
}

const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;
const PEM_BEGIN = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----/g;
/** How far an END line may be from its BEGIN (a 16384-bit RSA key is about 12 KiB). */
const PEM_MAX_SPAN = 64 * 1024;

function pemKeys(text: string, lines: LineCounter, out: SecretMatch[]): void {
  PEM_BEGIN.lastIndex = 0;
  const unterminated = new Set<string>();
  for (let m = PEM_BEGIN.exec(text); m !== null && out.length < MAX_MATCHES_PER_TEXT; m = PEM_BEGIN.exec(text)) {
    const label = m[1]!;
    const bodyStart = m.index + m[0].length;
    const endMarker = `-----END ${label}-----`;
    if (unterminated.has(label)) continue;
    const end = text.indexOf(endMarker, bodyStart);
    // No END further on means no later BEGIN of this label can end either: stop searching for it (linear time).
    if (end === -1) unterminated.add(label);
    if (end === -1 || end - bodyStart > PEM_MAX_SPAN) continue;
    let base64 = '';
    let ok = true;
    for (const raw of text.slice(bodyStart, end).split('\n')) {
      const line = raw.trim();
      // Encrypted PKCS#1 keys carry RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") before the body.
      if (line === '' || /^[A-Za-z-]+: /.test(line)) continue;
      if (!BASE64_LINE.test(line)) {
        ok = false;
        break;
      }
      base64 += line;
    }
    if (!ok || base64.length < 64) continue;
    const openssh = label === 'OPENSSH PRIVATE KEY';
    if (openssh && !Buffer.from(base64.slice(0, 24), 'base64').toString('latin1').startsWith('openssh-key-v1')) continue;
    out.push({ rule: openssh ? 'openssh-private-key' : 'private-key', title: TITLES.get(openssh ? 'openssh-private-key' : 'private-key')!, line: lines.at(m.index), match: `-----BEGIN ${label}----- ${redact(base64)}` });
    PEM_BEGIN.lastIndex = end + endMarker.length;
  }
}

interface TokenRule {
  id: string;
  pattern: RegExp;
  /** Which capture group is the secret (0: the whole match). */
  group: number;
  skip?: (secret: string) => boolean;
}

const TOKEN_RULES: readonly TokenRule[] = [
  { id: 'aws-access-key-id', pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/g, group: 0, skip: (s) => s.endsWith('EXAMPLE') },
  {
    id: 'aws-secret-access-key',
    pattern: /(?:aws_?secret_?access_?key|secretaccesskey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 1,
    skip: (s) => s.includes('EXAMPLE') || placeholder(s),
  },
  { id: 'github-token', pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g, group: 0, skip: (s) => placeholder(s.slice(4)) },
  { id: 'github-token', pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9])/g, group: 0, skip: (s) => placeholder(s.slice(11)) },
  { id: 'gitlab-token', pattern: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])/g, group: 0, skip: (s) => placeholder(s.slice(6)) },
  { id: 'slack-token', pattern: /(?<![A-Za-z0-9])xox[abprs]-(?:[0-9]{8,14}-){1,3}[A-Za-z0-9]{24,40}(?![A-Za-z0-9])/g, group: 0, skip: (s) => placeholder(s.slice(s.lastIndexOf('-') + 1)) },
  { id: 'slack-token', pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{20,32}/g, group: 0 },
];

/** Cheap literal pre-check: when none of these occurs the regular expressions are not run at all. */
const KEYWORDS = /PRIVATE KEY-----|AKIA|ASIA|secret_?access_?key|secretaccesskey|service_account|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|hooks\.slack\.com/i;

const GCP_TYPE = /"type"\s*:\s*"service_account"/;
const GCP_KEY = /"private_key"\s*:\s*"-----BEGIN PRIVATE KEY-----((?:\\n|[A-Za-z0-9+/=])+)-----END PRIVATE KEY-----(?:\\n)?"/;

/** Finds secrets in a text. Rules apply by context (the generic credential-name rule only to assignments, see `findSecretsInAssignment`). */
export function findSecrets(input: string, _context: SecretContext = 'file'): SecretMatch[] {
  const text = input.length > MAX_SECRET_TEXT ? input.slice(0, MAX_SECRET_TEXT) : input;
  if (!KEYWORDS.test(text)) return [];
  const lines = new LineCounter(text);
  const out: SecretMatch[] = [];
  if (text.includes('PRIVATE KEY-----')) pemKeys(text, lines, out);
  const type = GCP_TYPE.exec(text);
  if (type !== null) {
    const key = GCP_KEY.exec(text);
    if (key !== null && key[1]!.replace(/\\n/g, '').length >= 64) {
      out.push({ rule: 'gcp-service-account', title: TITLES.get('gcp-service-account')!, line: lines.at(type.index), match: `service_account ${redact(key[1]!.replace(/\\n/g, ''))}` });
    }
  }
  for (const rule of TOKEN_RULES) {
    rule.pattern.lastIndex = 0;
    for (let m = rule.pattern.exec(text); m !== null && out.length < MAX_MATCHES_PER_TEXT; m = rule.pattern.exec(text)) {
      const secret = m[rule.group]!;
      if (rule.skip?.(secret) === true) continue;
      const at = m.index + (rule.group === 0 ? 0 : m[0].indexOf(secret));
      out.push({ rule: rule.id, title: TITLES.get(rule.id)!, line: lines.at(at), match: redact(secret) });
    }
  }
  return out.sort((a, b) => a.line - b.line || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}

const CREDENTIAL_NAME = /(?:^|[_.-])(?:PASS(?:WORD|WD)?|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH_?TOKEN)(?:$|[_.-])/i;
const POINTER_NAME = /[_.-](?:FILE|PATH|DIR)$/i;

/** The generic rule for `NAME=value` pairs (env, labels, ARG/ENV, build args in history), plus the token rules on the value. */
export function findSecretsInAssignment(name: string, value: string, context: SecretContext): SecretMatch[] {
  const found = findSecrets(value, context).map((m) => ({ ...m, line: 1 }));
  if (found.length > 0) return found;
  const trimmed = value.trim().replace(/^["']|["']$/g, '');
  if (trimmed === '' || /^\$\{?[A-Za-z_]/.test(trimmed)) return [];
  if (name === 'PWD' || name === 'OLDPWD' || POINTER_NAME.test(name) || !CREDENTIAL_NAME.test(name)) return [];
  return [{ rule: 'password-assignment', title: TITLES.get('password-assignment')!, line: 1, match: `${name}=${redact(trimmed)}` }];
}

/** True when a buffer looks binary: a NUL byte in its first 8 KiB (the test git and grep use). */
export function looksBinary(content: Buffer): boolean {
  return content.subarray(0, 8192).includes(0);
}
