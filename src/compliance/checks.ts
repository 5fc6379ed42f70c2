/** @module compliance/checks — CIS Docker Benchmark 1.6 §4 and dockle-style image checks: definitions, NIST mappings, and how each is decided from the evidence. */
import { PACKAGE_MANAGER_PATHS, SHELL_PATHS } from '../compare/compare-images.js';
import type { FileEntry } from '../filesystem/file-entry.js';
import type { Package } from '../sbom/package.js';
import { runCommand, type Dockerfile, type Instruction } from './dockerfile.js';
import { isPackageConfig, type ImageEvidence, type LayerRef } from './image-evidence.js';
import { findSecrets, findSecretsInAssignment, type SecretContext } from './secret-rules.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'manual' | 'not-applicable';

/** One fact behind a result: a file (with its layer), a config key, a Dockerfile line, a history step or a package. */
export interface Evidence {
  kind: 'file' | 'config' | 'dockerfile' | 'history' | 'package' | 'image';
  message: string;
  /** Image path (file and package evidence). */
  path?: string;
  /** The layer that added the file. */
  layer?: LayerRef;
  /** The later layer that deleted or replaced it (the bytes stay in the image's blobs). */
  removedIn?: LayerRef & { how: string };
  /** Config key, e.g. `config.User`, `config.Env[2]`, `config.Labels["x"]`, `history[3].created_by`. */
  key?: string;
  /** The value behind the key (secrets redacted). */
  value?: string;
  /** Dockerfile name and line, or the line inside a file. */
  file?: string;
  line?: number;
  /** Secret rule id. */
  rule?: string;
  package?: { name: string; version: string; type: string };
}

export interface CheckDefinition {
  id: string;
  /** distill's own wording of what is checked. */
  title: string;
  /** `cis-docker-1.6` for §4 recommendations; `image` for the dockle-style checks. */
  source: 'cis-docker-1.6' | 'image';
  /** The CIS recommendation number, or the dockle checkpoint it corresponds to. */
  reference: string;
  /** Decided from the image (and Dockerfile) alone; manual checks need a person, but still show the evidence found. */
  automated: boolean;
  /** NIST SP 800-190 §4.1 countermeasures (4.1.1 … 4.1.5). */
  nist800190: string[];
  /** NIST SP 800-53 rev 5 controls. */
  nist80053: string[];
  remediation: string;
}

export interface CheckResult extends CheckDefinition {
  status: CheckStatus;
  summary: string;
  evidence: Evidence[];
}

/** One signature that verified under a given key for the checked digest. */
export interface VerifiedImageSignature {
  /** The public key file (as given with --key) and its SHA-256 fingerprint (of the DER public key). */
  key: string;
  keyFingerprint: string;
  /** The signed digest: the manifest examined, or the index that lists it. */
  digest: string;
  signatureReference: string;
  payloadDigest: string;
}

/**
 * The outcome of a cosign-style signature check of the image, done by the caller (the library never goes to a
 * registry for it): CIS 4.5 and 4.12 are decided from it. `checked: false` when the source holds no signatures.
 */
export interface SignatureVerdict {
  /** The public key files given, in order. */
  keys: string[];
  checked: boolean;
  /** The manifest digest whose signatures were looked at. */
  digest?: string;
  /** At least one signature verified. */
  verified: boolean;
  signatures: VerifiedImageSignature[];
  /** Why nothing verified (one per key or per rejected signature), or why no check was possible. */
  reasons: string[];
}

export interface CheckContext {
  image: ImageEvidence;
  dockerfile?: Dockerfile;
  signature?: SignatureVerdict;
}

interface Decision {
  status: CheckStatus;
  summary: string;
  evidence?: Evidence[];
  /** Set when this run decided a normally manual check from a fact given to it (CIS 4.5/4.12 with a signature check). */
  automated?: boolean;
}

interface Check extends CheckDefinition {
  decide: (context: CheckContext) => Decision;
}

/** CIS 4.5 / 4.12 from a signature check the caller made: pass only when a signature verified for this digest. */
function signatureDecision(image: ImageEvidence, verdict: SignatureVerdict): Decision {
  const digestEvidence: Evidence = { kind: 'image', message: `manifest digest ${image.digest}`, value: image.digest };
  const keys = verdict.keys.join(', ');
  if (!verdict.checked) {
    return { status: 'manual', summary: 'signatures not checked: only a registry image has signatures to verify', evidence: [digestEvidence, ...verdict.reasons.map((reason): Evidence => ({ kind: 'image', message: reason }))] };
  }
  // A verdict for other content (the tag moved between reading the image and checking) proves nothing about it.
  if (verdict.digest !== image.digest) {
    return { status: 'fail', automated: true, summary: `the signature check was made for ${verdict.digest ?? 'no digest'}, not for the image examined (${image.digest})`, evidence: [digestEvidence] };
  }
  if (verdict.verified && verdict.signatures.length > 0) {
    return {
      status: 'pass',
      automated: true,
      summary: `${verdict.signatures.length} signature(s) verified for ${image.digest} under ${keys}`,
      evidence: [
        digestEvidence,
        ...verdict.signatures.map((s): Evidence => ({
          kind: 'image',
          key: s.signatureReference,
          value: s.payloadDigest,
          message: `signature ${s.payloadDigest} verifies under ${s.key} (key sha256:${s.keyFingerprint})${s.digest === image.digest ? '' : ` and signs the index ${s.digest} that lists this manifest`}`,
        })),
      ],
    };
  }
  return {
    status: 'fail',
    automated: true,
    summary: `no signature verifies for ${image.digest} under ${keys}`,
    evidence: [digestEvidence, ...cap(verdict.reasons.map((reason): Evidence => ({ kind: 'image', message: reason })))],
  };
}

/** Evidence lists are capped so a bad image does not produce a megabyte report; the summary keeps the full count. */
export const MAX_EVIDENCE = 50;

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

function fileEvidence(image: ImageEvidence, entry: FileEntry, message: string): Evidence {
  const layer = image.layers[entry.layer];
  return { kind: 'file', message, path: entry.path, ...(layer !== undefined ? { layer } : {}) };
}

function cap(evidence: Evidence[]): Evidence[] {
  return evidence.length > MAX_EVIDENCE ? evidence.slice(0, MAX_EVIDENCE) : evidence;
}

/** Paths from a list that exist (symlinks followed) as non-directories in the squashed view, with the entry found. */
function present(image: ImageEvidence, paths: readonly string[]): { path: string; entry: FileEntry }[] {
  const out: { path: string; entry: FileEntry }[] = [];
  for (const path of paths) {
    const entry = image.squashed.stat(path);
    if (entry !== undefined && entry.type !== 'dir') out.push({ path, entry });
  }
  return out;
}

interface Account {
  name: string;
  id: number;
  fields: string[];
  line: number;
}

function accounts(text: string | undefined): Account[] {
  if (text === undefined) return [];
  const out: Account[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    out.push({ name: fields[0] ?? '', id: Number(fields[2]), fields, line: i + 1 });
  }
  return out;
}

/** The user a container starts as: from config.User, resolved through /etc/passwd when it is a name. */
function startUser(image: ImageEvidence): { raw: string; uid: number | undefined; name?: string } {
  const raw = image.config.config?.User ?? '';
  const user = raw.split(':')[0]!.trim();
  if (user === '') return { raw, uid: 0, name: 'root' };
  if (/^\d+$/.test(user)) return { raw, uid: Number(user) };
  const account = accounts(image.files.get('/etc/passwd')).find((a) => a.name === user);
  return { raw, uid: account === undefined || Number.isNaN(account.id) ? undefined : account.id, name: user };
}

/** Packages a running service does not need: shells, downloaders, remote-access and debugging tools, editors, compilers. */
export const UNNEEDED_PACKAGES: readonly string[] = [
  'bash', 'dash', 'zsh', 'busybox', 'curl', 'wget', 'netcat-openbsd', 'netcat-traditional', 'ncat', 'socat', 'telnet', 'ftp',
  'openssh-client', 'openssh-server', 'sudo', 'doas', 'vim', 'vim-tiny', 'nano', 'less', 'procps', 'strace', 'gdb', 'tcpdump',
  'iputils-ping', 'git', 'gcc', 'g++', 'make', 'apt', 'dpkg', 'apk-tools',
];

/** A package's most telling file that is present: an executable if it has one, else its first present file. */
function packageFile(image: ImageEvidence, pkg: Package): FileEntry | undefined {
  const files = pkg.type === 'deb' || pkg.type === 'apk' ? pkg.files : [];
  let first: FileEntry | undefined;
  let binary: FileEntry | undefined;
  for (const file of files) {
    const entry = image.squashed.lstat(file);
    if (entry === undefined || entry.type === 'dir') continue;
    if (/\/s?bin\//.test(file)) {
      if (file.endsWith(`/${pkg.name}`)) return entry;
      binary ??= entry;
    }
    first ??= entry;
  }
  return binary ?? first;
}

const UPDATE = /\b(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*update\b|\bapk\s+(?:-\S+\s+)*update\b|\b(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*makecache\b|\bzypper\s+(?:-\S+\s+)*(?:refresh|ref)\b/;
const INSTALL = /\b(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*(?:install|upgrade|dist-upgrade|full-upgrade)\b|\bapk\s+(?:-\S+\s+)*(?:add|upgrade)\b|\b(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*(?:install|upgrade|update)\b|\bzypper\s+(?:-\S+\s+)*(?:install|in|update|up)\b/;
const UNVERIFIED = /--allow-unauthenticated|--force-yes|AllowUnauthenticated|--nogpgcheck|gpgcheck\s*=\s*0|--allow-untrusted|--no-check-certificate|--insecure\b|\btrusted=yes|--trusted-host\b|(?:curl|wget)\b[^|;&]*\|\s*(?:ba|z)?sh\b/i;

/** History steps as Dockerfile-like commands (`/bin/sh -c #(nop) ADD …` → `ADD …`). */
function historySteps(image: ImageEvidence): { index: number; text: string }[] {
  return (image.config.history ?? []).map((h, index) => ({ index, text: (h.created_by ?? '').replace(/^\/bin\/sh -c #\(nop\)\s*/, '').replace(/^\/bin\/sh -c /, 'RUN ') }));
}

function dockerfileEvidence(dockerfile: Dockerfile, instruction: Instruction, message: string): Evidence {
  return { kind: 'dockerfile', message, file: dockerfile.name, line: instruction.line, value: `${instruction.name} ${instruction.raw}`.slice(0, 200) };
}

/** Every secret the image and Dockerfile carry: files in any layer, env, labels, Dockerfile, history. */
export function secretEvidence(context: CheckContext): Evidence[] {
  const { image } = context;
  const out: Evidence[] = [];
  for (const s of image.fileSecrets) {
    const where = `${s.path}:${s.line}, added in layer ${s.addedIn.index} (${s.addedIn.digest})`;
    const removed = s.removedIn === undefined ? '' : `, ${s.removedIn.how === 'replaced' ? 'replaced' : 'deleted'} by layer ${s.removedIn.index} (${s.removedIn.digest}) but still in the image's layer blobs`;
    out.push({
      kind: 'file',
      message: `${s.title} in ${where}${removed}`,
      path: s.path,
      line: s.line,
      layer: s.addedIn,
      ...(s.removedIn !== undefined ? { removedIn: s.removedIn } : {}),
      rule: s.rule,
      value: s.match,
    });
  }
  const assignment = (name: string, value: string, context: SecretContext, base: Omit<Evidence, 'message' | 'rule' | 'value'>, where: string) => {
    for (const m of findSecretsInAssignment(name, value, context)) out.push({ ...base, message: `${m.title} in ${where}`, rule: m.rule, value: m.match });
  };
  for (const [i, env] of (image.config.config?.Env ?? []).entries()) {
    const at = env.indexOf('=');
    assignment(at === -1 ? env : env.slice(0, at), at === -1 ? '' : env.slice(at + 1), 'env', { kind: 'config', key: `config.Env[${i}]` }, `environment variable ${at === -1 ? env : env.slice(0, at)}`);
  }
  for (const [name, value] of Object.entries(image.config.config?.Labels ?? {})) {
    assignment(name, value, 'label', { kind: 'config', key: `config.Labels[${JSON.stringify(name)}]` }, `label ${name}`);
  }
  for (const step of historySteps(image)) {
    const key = `history[${step.index}].created_by`;
    const found = findSecrets(step.text, 'history');
    for (const m of found) out.push({ kind: 'history', key, message: `${m.title} in history step ${step.index}`, rule: m.rule, value: m.match });
    if (found.length > 0) continue;
    // BuildKit records build arguments as `|N NAME=value … /bin/sh -c …`; ENV/ARG steps as `ENV NAME=value`.
    for (const word of step.text.split(/\s+/)) {
      const pair = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.+)$/.exec(word);
      if (pair !== null) assignment(pair[1]!, pair[2]!, 'history', { kind: 'history', key }, `history step ${step.index} (${pair[1]})`);
    }
  }
  const dockerfile = context.dockerfile;
  if (dockerfile !== undefined) {
    for (const instruction of dockerfile.instructions) {
      const base = { kind: 'dockerfile' as const, file: dockerfile.name, line: instruction.line };
      if (instruction.pairs !== undefined) {
        for (const pair of instruction.pairs) {
          if (pair.value !== undefined) assignment(pair.key, pair.value, 'dockerfile', base, `${instruction.name} ${pair.key} at ${dockerfile.name}:${instruction.line}`);
        }
      } else {
        for (const m of findSecrets(instruction.raw, 'dockerfile')) out.push({ ...base, message: `${m.title} in ${instruction.name} at ${dockerfile.name}:${instruction.line}`, rule: m.rule, value: m.match });
      }
    }
  }
  return out;
}

const CHECKS: readonly Check[] = [
  {
    id: 'CIS-4.1',
    title: 'The image starts as a non-root user',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.1 (dockle CIS-DI-0001)',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['AC-6', 'CM-6'],
    remediation: 'Set USER to a non-zero numeric uid (e.g. USER 65532:65532) after creating any files the process must write.',
    decide({ image }) {
      const user = startUser(image);
      const evidence: Evidence[] = [{ kind: 'config', key: 'config.User', value: user.raw, message: user.raw === '' ? 'config.User is not set: the container starts as root (uid 0)' : `config.User is ${JSON.stringify(user.raw)}${user.uid !== undefined ? ` (uid ${user.uid})` : ''}` }];
      if (user.uid === undefined) return { status: 'warn', summary: `user ${JSON.stringify(user.name)} is not in /etc/passwd: the runtime decides (usually it refuses to start)`, evidence };
      if (user.uid === 0) return { status: 'fail', summary: 'the image runs as root', evidence };
      return { status: 'pass', summary: `the image runs as uid ${user.uid}`, evidence };
    },
  },
  {
    id: 'CIS-4.2',
    title: 'The image is built from a trusted base image',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.2',
    automated: false,
    nist800190: ['4.1.5'],
    nist80053: ['SR-3', 'SR-4', 'SR-11'],
    remediation: 'Build from a base you control or a vendor you trust, pinned by digest, and record it (org.opencontainers.image.base.name / base.digest labels).',
    decide({ image, dockerfile }) {
      const labels = image.config.config?.Labels ?? {};
      const evidence: Evidence[] = [];
      for (const key of ['org.opencontainers.image.base.name', 'org.opencontainers.image.base.digest', 'dev.distill.base-layer', 'dev.distill.recipe-digest']) {
        if (labels[key] !== undefined) evidence.push({ kind: 'config', key: `config.Labels[${JSON.stringify(key)}]`, value: labels[key], message: `provenance label ${key}` });
      }
      for (const instruction of dockerfile?.instructions ?? []) {
        if (instruction.name !== 'FROM') continue;
        const from = instruction.raw.split(/\s+/)[0]!;
        evidence.push(dockerfileEvidence(dockerfile!, instruction, from.includes('@sha256:') ? `base ${from} is pinned by digest` : `base ${from} is not pinned by digest`));
      }
      const first = image.config.history?.[0]?.created_by;
      if (first !== undefined) evidence.push({ kind: 'history', key: 'history[0].created_by', value: first.slice(0, 200), message: 'first history step (how the base was made)' });
      return { status: 'manual', summary: evidence.length > 1 ? 'provenance recorded; decide whether the source is trusted' : 'no provenance recorded beyond the history: confirm where the base image comes from', evidence };
    },
  },
  {
    id: 'CIS-4.3',
    title: 'No packages the workload does not need (shells, downloaders, editors, compilers, package managers)',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.3',
    automated: true,
    nist800190: ['4.1.1', '4.1.2'],
    nist80053: ['CM-7', 'CM-8'],
    remediation: 'Start from a minimal base (distill build, distroless, scratch) and install only what the process runs.',
    decide({ image }) {
      const unneeded = new Set(UNNEEDED_PACKAGES);
      const evidence: Evidence[] = [];
      for (const pkg of image.sbom.packages) {
        if (!unneeded.has(pkg.name)) continue;
        const file = packageFile(image, pkg);
        const layer = file === undefined ? undefined : image.layers[file.layer];
        evidence.push({
          kind: 'package',
          message: `${pkg.name} ${pkg.version} is installed${file !== undefined ? ` (${file.path})` : ''}`,
          package: { name: pkg.name, version: pkg.version, type: pkg.type },
          ...(file !== undefined ? { path: file.path } : pkg.locations[0] !== undefined ? { path: pkg.locations[0].path } : {}),
          ...(layer !== undefined ? { layer } : {}),
        });
      }
      if (evidence.length === 0) return { status: 'pass', summary: `none of the ${image.sbom.packages.length} packages is a shell, downloader, editor, compiler or package manager` };
      return { status: 'fail', summary: `${evidence.length} unneeded package(s): ${evidence.map((e) => e.package!.name).join(', ')}`, evidence: cap(evidence) };
    },
  },
  {
    id: 'CIS-4.4',
    title: 'The image is scanned and rebuilt to include security patches',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.4',
    automated: false,
    nist800190: ['4.1.1'],
    nist80053: ['RA-5', 'SI-2'],
    remediation: 'Scan in CI (distill scan --fail-on high) and rebuild when the distribution publishes fixes (distill triage lists the upgrades).',
    decide({ image }) {
      const created = image.config.created;
      return {
        status: 'manual',
        summary: 'run `distill scan` / `distill triage` on this image and rebuild when fixes are listed',
        evidence: [
          { kind: 'config', key: 'created', value: created ?? '', message: created === undefined ? 'no creation time recorded' : `created ${created}` },
          { kind: 'image', message: `${image.sbom.packages.length} packages catalogued (what a scan would check)` },
        ],
      };
    },
  },
  {
    id: 'CIS-4.5',
    title: 'Content trust (signature verification) is used when pulling and pushing',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.5 (dockle CIS-DI-0005)',
    automated: false,
    nist800190: ['4.1.5'],
    nist80053: ['SR-4', 'SR-11', 'SI-7'],
    remediation: 'Sign images when pushing and verify signatures before running (cosign / notation, admission policy), or set DOCKER_CONTENT_TRUST=1.',
    decide({ image, signature }) {
      if (signature !== undefined) return signatureDecision(image, signature);
      return { status: 'manual', summary: 'content trust is a property of the pull and push, not of the image: verify the signature of this digest', evidence: [{ kind: 'image', message: `manifest digest ${image.digest}`, value: image.digest }] };
    },
  },
  {
    id: 'CIS-4.6',
    title: 'The image declares a HEALTHCHECK',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.6 (dockle CIS-DI-0006)',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['CM-6', 'SI-4'],
    remediation: 'Add HEALTHCHECK CMD with a probe the image itself contains, or rely on the orchestrator\'s probes and record that decision.',
    decide({ image }) {
      const health = image.config.config?.Healthcheck as { Test?: unknown } | undefined;
      const test = Array.isArray(health?.Test) ? (health!.Test as unknown[]).map(String) : undefined;
      if (test === undefined || test.length === 0) return { status: 'fail', summary: 'no HEALTHCHECK in the image config', evidence: [{ kind: 'config', key: 'config.Healthcheck', message: 'config.Healthcheck is not set' }] };
      if (test[0] === 'NONE') return { status: 'fail', summary: 'HEALTHCHECK NONE disables the check', evidence: [{ kind: 'config', key: 'config.Healthcheck.Test', value: JSON.stringify(test), message: 'health check disabled' }] };
      return { status: 'pass', summary: `health check ${JSON.stringify(test).slice(0, 120)}`, evidence: [{ kind: 'config', key: 'config.Healthcheck.Test', value: JSON.stringify(test), message: 'health check declared' }] };
    },
  },
  {
    id: 'CIS-4.7',
    title: 'Package index updates are not run alone in a build step',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.7 (dockle CIS-DI-0007)',
    automated: true,
    nist800190: ['4.1.1'],
    nist80053: ['SI-2', 'CM-6'],
    remediation: 'Run the index update and the install in the same RUN (apt-get update && apt-get install -y …), so a cached layer never installs from a stale index.',
    decide({ image, dockerfile }) {
      const evidence: Evidence[] = [];
      for (const instruction of dockerfile?.instructions ?? []) {
        if (instruction.name !== 'RUN') continue;
        const command = runCommand(instruction);
        if (UPDATE.test(command) && !INSTALL.test(command)) evidence.push(dockerfileEvidence(dockerfile!, instruction, `RUN at ${dockerfile!.name}:${instruction.line} updates the package index without installing in the same step`));
      }
      for (const step of historySteps(image)) {
        if (step.text.startsWith('RUN ') && UPDATE.test(step.text) && !INSTALL.test(step.text)) {
          evidence.push({ kind: 'history', key: `history[${step.index}].created_by`, value: step.text.slice(0, 200), message: `history step ${step.index} updates the package index alone` });
        }
      }
      if (evidence.length > 0) return { status: 'fail', summary: `${evidence.length} update-only step(s)`, evidence };
      if (dockerfile === undefined) return { status: 'not-applicable', summary: 'no Dockerfile given (--dockerfile), and the image history shows no update-only step' };
      return { status: 'pass', summary: `no RUN in ${dockerfile.name} updates the index alone` };
    },
  },
  {
    id: 'CIS-4.8',
    title: 'No setuid or setgid executables',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.8 (dockle CIS-DI-0008)',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['AC-6', 'CM-7'],
    remediation: 'Remove the files or their setuid/setgid bits (RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +), or do not install the packages that ship them.',
    decide({ image }) {
      const evidence: Evidence[] = [];
      for (const entry of image.squashed.entries()) {
        if ((entry.type === 'file' || entry.type === 'hardlink') && (entry.mode & 0o6000) !== 0) {
          const bits = [(entry.mode & 0o4000) !== 0 ? 'setuid' : '', (entry.mode & 0o2000) !== 0 ? 'setgid' : ''].filter(Boolean).join('+');
          evidence.push({ ...fileEvidence(image, entry, `${entry.path} is ${bits} (mode ${octal(entry.mode)}, owner ${entry.uid}:${entry.gid})`), value: octal(entry.mode) });
        }
      }
      if (evidence.length === 0) return { status: 'pass', summary: 'no file has the setuid or setgid bit' };
      return { status: 'fail', summary: `${evidence.length} setuid/setgid file(s)`, evidence: cap(evidence) };
    },
  },
  {
    id: 'CIS-4.9',
    title: 'COPY is used instead of ADD',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.9 (dockle CIS-DI-0009)',
    automated: true,
    nist800190: ['4.1.2', '4.1.3'],
    nist80053: ['CM-6', 'SR-3'],
    remediation: 'Use COPY for local files; fetch remote files in a RUN step that verifies a checksum, and unpack archives explicitly.',
    decide({ image, dockerfile }) {
      const evidence: Evidence[] = [];
      for (const instruction of dockerfile?.instructions ?? []) {
        if (instruction.name === 'ADD') {
          const remote = /(?:^|\s)(?:https?|git):\/\//.test(instruction.raw) || /\.git(?:\s|#|$)/.test(instruction.raw);
          evidence.push(dockerfileEvidence(dockerfile!, instruction, `ADD at ${dockerfile!.name}:${instruction.line}${remote ? ' fetches remote content' : ''}`));
        }
      }
      if (evidence.length > 0) return { status: 'fail', summary: `${evidence.length} ADD instruction(s) in ${dockerfile!.name}`, evidence };
      const history = historySteps(image).filter((s) => /^ADD\s/.test(s.text));
      if (history.length > 0) {
        return {
          status: 'warn',
          summary: `${history.length} ADD step(s) in the image history (often the base image's root filesystem; give --dockerfile to decide)`,
          evidence: history.map((s) => ({ kind: 'history', key: `history[${s.index}].created_by`, value: s.text.slice(0, 200), message: `history step ${s.index} used ADD` })),
        };
      }
      if (dockerfile === undefined) return { status: 'not-applicable', summary: 'no Dockerfile given (--dockerfile), and the image history shows no ADD' };
      return { status: 'pass', summary: `${dockerfile.name} uses no ADD` };
    },
  },
  {
    id: 'CIS-4.10',
    title: 'No secrets in the image (files in any layer, environment, labels, history) or the Dockerfile',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.10 (dockle CIS-DI-0010)',
    automated: true,
    nist800190: ['4.1.4'],
    nist80053: ['IA-5', 'SC-28'],
    remediation: 'Remove the secret from every layer (rebuild; deleting it in a later layer does not remove it), rotate it, and pass secrets at run time (mounted files, a secrets manager, BuildKit --mount=type=secret).',
    decide(context) {
      const evidence = secretEvidence(context);
      const s = context.image.secretStats;
      const searched = `searched ${s.filesSearched} text files (${s.bytesSearched} bytes) in ${context.image.layers.length} layer(s), the environment, labels and history${context.dockerfile !== undefined ? ` and ${context.dockerfile.name}` : ''}; skipped ${s.skippedBinary} binary and ${s.skippedLarge} large file(s)`;
      if (evidence.length === 0) return { status: 'pass', summary: `no secrets found (${searched})` };
      const deleted = evidence.filter((e) => e.removedIn !== undefined).length;
      return { status: 'fail', summary: `${evidence.length} secret(s)${deleted > 0 ? `, ${deleted} in files a later layer deleted or replaced` : ''} (${searched})`, evidence: cap(evidence) };
    },
  },
  {
    id: 'CIS-4.11',
    title: 'Only verified (signed) packages are installed',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.11',
    automated: false,
    nist800190: ['4.1.3', '4.1.5'],
    nist80053: ['SR-4', 'SR-11', 'SI-7', 'CM-14'],
    remediation: 'Install from signed repositories only; never use trusted=yes, --allow-unauthenticated, --nogpgcheck or curl | sh.',
    decide({ image, dockerfile }) {
      const evidence: Evidence[] = [];
      for (const entry of image.squashed.entries()) {
        if (entry.type !== 'file' || !isPackageConfig(entry.path)) continue;
        const text = image.files.get(entry.path);
        if (text === undefined) continue;
        for (const [i, line] of text.split('\n').entries()) {
          if (!line.trimStart().startsWith('#') && UNVERIFIED.test(line)) evidence.push({ ...fileEvidence(image, entry, `${entry.path}:${i + 1} turns off package verification`), line: i + 1, value: line.trim().slice(0, 200) });
        }
      }
      for (const instruction of dockerfile?.instructions ?? []) {
        if (instruction.name === 'RUN' && UNVERIFIED.test(runCommand(instruction))) evidence.push(dockerfileEvidence(dockerfile!, instruction, `RUN at ${dockerfile!.name}:${instruction.line} installs without verification`));
      }
      for (const step of historySteps(image)) {
        if (UNVERIFIED.test(step.text)) evidence.push({ kind: 'history', key: `history[${step.index}].created_by`, value: step.text.slice(0, 200), message: `history step ${step.index} installs without verification` });
      }
      if (evidence.length > 0) return { status: 'fail', summary: `${evidence.length} place(s) where package verification is off`, evidence: cap(evidence) };
      const labels = image.config.config?.Labels ?? {};
      const distill = labels['dev.distill.recipe-digest'];
      return {
        status: 'manual',
        summary: distill !== undefined ? 'built by distill, which checks InRelease signatures and .deb hashes; confirm the recipe\'s repositories' : 'no unverified install found in apt/yum configuration, history or Dockerfile; confirm how packages were fetched',
        evidence: distill !== undefined ? [{ kind: 'config', key: 'config.Labels["dev.distill.recipe-digest"]', value: distill, message: 'distill recipe digest' }] : [],
      };
    },
  },
  {
    id: 'CIS-4.12',
    title: 'Signed artifacts are validated before use',
    source: 'cis-docker-1.6',
    reference: 'CIS Docker 1.6 4.12',
    automated: false,
    nist800190: ['4.1.5'],
    nist80053: ['SR-4', 'SR-11', 'SI-7', 'CM-14'],
    remediation: 'Verify every artifact\'s signature (image, SBOM, attestations) before it is stored or deployed, automatically in the pipeline.',
    decide({ image, signature }) {
      if (signature !== undefined) return signatureDecision(image, signature);
      return { status: 'manual', summary: 'verify the signatures of this image and its attached artifacts in the pipeline', evidence: [{ kind: 'image', message: `manifest digest ${image.digest}`, value: image.digest }] };
    },
  },
  {
    id: 'IMG-SHELL',
    title: 'No shell in the image',
    source: 'image',
    reference: 'dockle-style (distill)',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['CM-7'],
    remediation: 'Use a shell-less runtime image; keep shells in a -dev variant used for debugging only.',
    decide({ image }) {
      const found = present(image, SHELL_PATHS);
      if (found.length === 0) return { status: 'pass', summary: 'no shell found' };
      return { status: 'fail', summary: `shell present: ${found.map((f) => f.path).join(', ')}`, evidence: found.map((f) => fileEvidence(image, f.entry, `${f.path} resolves to ${f.entry.path}`)) };
    },
  },
  {
    id: 'IMG-PACKAGE-MANAGER',
    title: 'No package manager in the image',
    source: 'image',
    reference: 'dockle-style (distill)',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['CM-7', 'CM-11'],
    remediation: 'Install packages at build time only; the runtime image needs no dpkg/apt/apk.',
    decide({ image }) {
      const found = present(image, PACKAGE_MANAGER_PATHS);
      if (found.length === 0) return { status: 'pass', summary: 'no package manager found' };
      return { status: 'fail', summary: `package manager present: ${found.map((f) => f.path).join(', ')}`, evidence: found.map((f) => fileEvidence(image, f.entry, `${f.path} resolves to ${f.entry.path}`)) };
    },
  },
  {
    id: 'IMG-SUDO',
    title: 'No sudo or doas',
    source: 'image',
    reference: 'dockle DKL-DG-0001',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['AC-6', 'CM-7'],
    remediation: 'Do not install sudo; run as the user the process needs.',
    decide({ image }) {
      const found = present(image, ['/usr/bin/sudo', '/bin/sudo', '/usr/bin/doas', '/usr/local/bin/sudo']);
      if (found.length === 0) return { status: 'pass', summary: 'no sudo or doas' };
      return { status: 'fail', summary: `${found.map((f) => f.path).join(', ')} present`, evidence: found.map((f) => fileEvidence(image, f.entry, `${f.path} present`)) };
    },
  },
  {
    id: 'IMG-PACKAGE-CACHE',
    title: 'No package-manager caches left in the image',
    source: 'image',
    reference: 'dockle DKL-DG-0003 / DKL-DG-0005',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['CM-7'],
    remediation: 'Remove caches in the same RUN (rm -rf /var/lib/apt/lists/* ; apk add --no-cache).',
    decide({ image }) {
      const evidence: Evidence[] = [];
      for (const entry of image.squashed.entries()) {
        if (entry.type !== 'file' || entry.size === 0) continue;
        const p = entry.path;
        if ((p.startsWith('/var/lib/apt/lists/') && !p.endsWith('/lock')) || (p.startsWith('/var/cache/apt/') && (p.endsWith('.deb') || p.endsWith('.bin'))) || p.startsWith('/var/cache/apk/') || p.startsWith('/var/cache/yum/') || p.startsWith('/var/cache/dnf/')) {
          evidence.push(fileEvidence(image, entry, `${p} (${entry.size} bytes)`));
        }
      }
      if (evidence.length === 0) return { status: 'pass', summary: 'no package index or archive cache' };
      return { status: 'fail', summary: `${evidence.length} cache file(s) (${evidence.reduce((n, e) => n + (image.squashed.lstat(e.path!)?.size ?? 0), 0)} bytes)`, evidence: cap(evidence) };
    },
  },
  {
    id: 'IMG-LATEST-TAG',
    title: 'The image is not identified only by a mutable "latest" tag',
    source: 'image',
    reference: 'dockle DKL-DG-0006',
    automated: true,
    nist800190: ['4.1.5'],
    nist80053: ['CM-2', 'CM-8'],
    remediation: 'Tag releases with a version (or deploy by digest) so what runs can be traced to one build.',
    decide({ image }) {
      const tags = image.tags;
      const versioned = tags.filter((t) => {
        const tag = tagOf(t);
        return tag !== undefined && tag !== 'latest';
      });
      const evidence: Evidence[] = [{ kind: 'image', message: tags.length === 0 ? 'no tag recorded' : `tags: ${tags.join(', ')}`, value: tags.join(', ') }];
      if (versioned.length > 0) return { status: 'pass', summary: `versioned tag ${versioned[0]}`, evidence };
      return { status: 'warn', summary: tags.length === 0 ? 'no tag recorded: deploy it by digest' : 'only a "latest" tag: deploy it by digest or give it a version tag', evidence };
    },
  },
  {
    id: 'IMG-EMPTY-PASSWORD',
    title: 'No account has an empty password',
    source: 'image',
    reference: 'dockle DKL-LI-0001',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['IA-5'],
    remediation: 'Lock the account (password field "*" or "!") or remove it.',
    decide({ image }) {
      const evidence: Evidence[] = [];
      for (const path of ['/etc/shadow', '/etc/passwd']) {
        const entry = image.squashed.stat(path);
        for (const account of accounts(image.files.get(path))) {
          if (account.fields.length >= 2 && account.fields[1] === '' && entry !== undefined) evidence.push({ ...fileEvidence(image, entry, `${path}:${account.line}: ${account.name} has an empty password`), line: account.line });
        }
      }
      if (evidence.length > 0) return { status: 'fail', summary: `${evidence.length} account(s) with an empty password`, evidence };
      return { status: 'pass', summary: image.files.has('/etc/shadow') || image.files.has('/etc/passwd') ? 'every account has a password or is locked' : 'no /etc/passwd or /etc/shadow' };
    },
  },
  {
    id: 'IMG-DUPLICATE-ID',
    title: 'User and group ids and names are unique',
    source: 'image',
    reference: 'dockle DKL-LI-0002',
    automated: true,
    nist800190: ['4.1.2'],
    nist80053: ['AC-2', 'IA-2'],
    remediation: 'Give every account its own uid and every group its own gid.',
    decide({ image }) {
      const evidence: Evidence[] = [];
      for (const [path, what] of [['/etc/passwd', 'uid'], ['/etc/group', 'gid']] as const) {
        const entry = image.squashed.stat(path);
        const list = accounts(image.files.get(path));
        const seenId = new Map<number, string>();
        const seenName = new Set<string>();
        for (const account of list) {
          const other = seenId.get(account.id);
          if (other !== undefined && entry !== undefined) evidence.push({ ...fileEvidence(image, entry, `${path}:${account.line}: ${what} ${account.id} of ${account.name} is also ${other}'s`), line: account.line });
          if (seenName.has(account.name) && entry !== undefined) evidence.push({ ...fileEvidence(image, entry, `${path}:${account.line}: ${account.name} is listed twice`), line: account.line });
          if (!Number.isNaN(account.id)) seenId.set(account.id, account.name);
          seenName.add(account.name);
        }
      }
      if (evidence.length > 0) return { status: 'fail', summary: `${evidence.length} duplicate id(s) or name(s)`, evidence };
      return { status: 'pass', summary: 'ids and names are unique' };
    },
  },
  {
    id: 'IMG-CREDENTIAL-FILES',
    title: 'No credential files by name in any layer (SSH keys, .netrc, .pgpass, cloud and registry credentials)',
    source: 'image',
    reference: 'dockle CIS-DI-0010 / DKL-LI-0003',
    automated: true,
    nist800190: ['4.1.4'],
    nist80053: ['IA-5', 'SC-28'],
    remediation: 'Keep credential files out of the build context (.dockerignore) and out of every layer.',
    decide({ image }) {
      const evidence: Evidence[] = [];
      for (const index of image.indexes) {
        for (const entry of index.entries.values()) {
          if (entry.type !== 'file' || entry.size === 0 || !CREDENTIAL_FILE.test(entry.path)) continue;
          const visible = image.squashed.lstat(entry.path);
          evidence.push({ ...fileEvidence(image, entry, `${entry.path} in layer ${entry.layer}${visible?.layer === entry.layer ? '' : ' (deleted or replaced later, still in the layer blob)'}`) });
        }
      }
      if (evidence.length === 0) return { status: 'pass', summary: 'no credential file names in any layer' };
      return { status: 'warn', summary: `${evidence.length} file(s) named like credentials (see CIS-4.10 for their content)`, evidence: cap(evidence) };
    },
  },
  {
    id: 'IMG-PACKAGE-INVENTORY',
    title: 'Installed packages can be inventoried (package database present)',
    source: 'image',
    reference: 'distill (SBOM completeness)',
    automated: true,
    nist800190: ['4.1.1'],
    nist80053: ['CM-8', 'RA-5'],
    remediation: 'Keep the package database (dpkg status or status.d, apk installed) so scanners see what is installed.',
    decide({ image }) {
      const os = image.sbom.packages.filter((p) => p.type === 'deb' || p.type === 'apk');
      if (os.length > 0) return { status: 'pass', summary: `${os.length} OS packages catalogued`, evidence: [{ kind: 'file', message: `package database ${os[0]!.locations[0]?.path ?? ''}`, ...(os[0]!.locations[0] !== undefined ? { path: os[0]!.locations[0].path } : {}) }] };
      if (image.sbom.packages.length > 0) return { status: 'pass', summary: `${image.sbom.packages.length} packages catalogued (no OS package database)` };
      return { status: 'warn', summary: 'no package found: scanners cannot tell what this image contains' };
    },
  },
];

/** The tag part of `repo:tag` (docker-archive RepoTags) or a bare OCI ref name (`1.0`); undefined for an untagged `host:port/repo`. */
function tagOf(name: string): string | undefined {
  const colon = name.lastIndexOf(':');
  if (colon === -1) return name.includes('/') ? undefined : name;
  const after = name.slice(colon + 1);
  return after.includes('/') || after === '' ? undefined : after;
}

const CREDENTIAL_FILE = /\/(?:id_rsa|id_dsa|id_ecdsa|id_ed25519|\.netrc|\.pgpass|\.git-credentials|\.pypirc|\.npmrc|\.env)$|\/\.aws\/credentials$|\/\.docker\/config\.json$|\/\.kube\/config$|\/\.config\/gcloud\/(?:credentials\.db|application_default_credentials\.json)$/;

/** Every check distill runs, in report order (the `decide` functions are internal). */
export const CHECK_DEFINITIONS: readonly CheckDefinition[] = CHECKS.map(({ decide: _decide, ...definition }) => definition);

/** Runs every check on the evidence. */
export function runChecks(context: CheckContext): CheckResult[] {
  return CHECKS.map(({ decide, ...definition }) => {
    const decision = decide(context);
    return { ...definition, ...(decision.automated !== undefined ? { automated: decision.automated } : {}), status: decision.status, summary: decision.summary, evidence: decision.evidence ?? [] };
  });
}
