/** @module compliance/dockerfile — a small, bounded Dockerfile parser: parser directives, comments, line continuations, JSON (exec) and shell forms. */
import { DistillError } from '../errors.js';

export const MAX_DOCKERFILE_BYTES = 1024 * 1024;
/** One logical instruction (continuations joined) may not be longer than this. */
export const MAX_INSTRUCTION_CHARS = 256 * 1024;

/** Instructions of the Dockerfile reference; anything else is DOCKERFILE_INVALID. */
export const INSTRUCTIONS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;
export type InstructionName = (typeof INSTRUCTIONS)[number];

export interface Instruction {
  name: InstructionName;
  /** First and last physical line (1-based) of the instruction. */
  line: number;
  endLine: number;
  /** `--flag=value` options before the arguments (`COPY --from=build`, `RUN --mount=…`). */
  flags: string[];
  /** The arguments as written, continuations joined with a space. */
  raw: string;
  /** The exec form when the arguments are a JSON array of strings (else the shell form applies). */
  json?: string[];
  /** KEY=VALUE (or legacy `KEY VALUE`) pairs of ENV, LABEL and ARG (value undefined for `ARG NAME`). */
  pairs?: { key: string; value: string | undefined }[];
}

export interface Dockerfile {
  name: string;
  instructions: Instruction[];
  /** The escape character from the `# escape=` directive (default backslash). */
  escape: string;
}

function invalid(name: string, line: number, message: string): DistillError {
  return new DistillError('DOCKERFILE_INVALID', `${name}:${line}: ${message}`, { subject: name });
}

/** Splits a shell-ish word list, honouring double/single quotes and the escape character. */
function words(text: string, escape: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === undefined && /\s/.test(c)) {
      if (any) out.push(current);
      current = '';
      any = false;
      continue;
    }
    any = true;
    if (c === escape && quote !== "'" && i + 1 < text.length) {
      current += text[++i]!;
    } else if ((c === '"' || c === "'") && (quote === undefined || quote === c)) {
      quote = quote === undefined ? c : undefined;
    } else {
      current += c;
    }
  }
  if (any) out.push(current);
  return out;
}

function parsePairs(name: string, line: number, instruction: InstructionName, args: string, escape: string): { key: string; value: string | undefined }[] {
  const list = words(args, escape);
  if (list.length === 0) throw invalid(name, line, `${instruction} needs at least one argument`);
  // Legacy `ENV KEY value with spaces` form: the first word has no '='.
  if (instruction !== 'ARG' && !list[0]!.includes('=')) {
    if (list.length < 2) throw invalid(name, line, `${instruction} ${list[0]} has no value`);
    return [{ key: list[0]!, value: list.slice(1).join(' ') }];
  }
  return list.map((word) => {
    const at = word.indexOf('=');
    if (at === -1) {
      if (instruction !== 'ARG') throw invalid(name, line, `${instruction} expects KEY=VALUE, got ${JSON.stringify(word.slice(0, 80))}`);
      return { key: word, value: undefined };
    }
    if (at === 0) throw invalid(name, line, `${instruction} has an empty name in ${JSON.stringify(word.slice(0, 80))}`);
    return { key: word.slice(0, at), value: word.slice(at + 1) };
  });
}

/** Parses Dockerfile text; throws DOCKERFILE_INVALID naming the file and line on anything it cannot read. */
export function parseDockerfile(input: string | Buffer, name = 'Dockerfile'): Dockerfile {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_DOCKERFILE_BYTES) throw invalid(name, 1, `file is ${size} bytes, over the ${MAX_DOCKERFILE_BYTES}-byte limit`);
  if (typeof input !== 'string' && input.subarray(0, 8192).includes(0)) throw invalid(name, 1, 'file is binary (contains NUL bytes), not a Dockerfile');
  const text = (typeof input === 'string' ? input : input.toString('utf8')).replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // Parser directives: `# key=value` lines at the very top, before any comment, blank line or instruction.
  for (; index < lines.length; index++) {
    const directive = /^#\s*([A-Za-z]+)\s*=\s*(\S*)\s*$/.exec(lines[index]!);
    if (directive === null) break;
    if (directive[1]!.toLowerCase() === 'escape') {
      if (directive[2] !== '\\' && directive[2] !== '`') throw invalid(name, index + 1, `escape must be \\ or \`, got ${JSON.stringify(directive[2])}`);
      escape = directive[2];
    }
  }
  const instructions: Instruction[] = [];
  while (index < lines.length) {
    const first = lines[index]!;
    if (/^\s*(#|$)/.test(first)) {
      index++;
      continue;
    }
    const start = index + 1;
    let logical = '';
    let end = index;
    for (;;) {
      const trimmed = lines[end]!.replace(/\s+$/, '');
      const continued = trimmed.endsWith(escape);
      logical += continued ? `${trimmed.slice(0, -1)} ` : lines[end]!;
      if (logical.length > MAX_INSTRUCTION_CHARS) throw invalid(name, start, `instruction is longer than ${MAX_INSTRUCTION_CHARS} characters`);
      if (!continued) break;
      // Comment and blank lines inside a continuation are skipped, as BuildKit does.
      end++;
      while (end < lines.length && /^\s*(#.*)?$/.test(lines[end]!)) end++;
      if (end >= lines.length) throw invalid(name, start, 'line continuation at the end of the file: the instruction is never finished');
    }
    index = end + 1;
    const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(logical);
    if (match === null) throw invalid(name, start, `cannot read an instruction from ${JSON.stringify(logical.slice(0, 80))}`);
    const keyword = match[1]!.toUpperCase();
    if (!(INSTRUCTIONS as readonly string[]).includes(keyword)) throw invalid(name, start, `unknown instruction ${JSON.stringify(match[1]!.slice(0, 40))}`);
    const instruction = keyword as InstructionName;
    let rest = (match[2] ?? '').trim();
    const flags: string[] = [];
    if (instruction !== 'ONBUILD') {
      for (let flag = /^--[A-Za-z][A-Za-z0-9-]*(=\S*)?(\s+|$)/.exec(rest); flag !== null; flag = /^--[A-Za-z][A-Za-z0-9-]*(=\S*)?(\s+|$)/.exec(rest)) {
        flags.push(flag[0].trim());
        rest = rest.slice(flag[0].length);
      }
    }
    if (rest === '' && instruction !== 'HEALTHCHECK') throw invalid(name, start, `${instruction} has no arguments`);
    const parsed: Instruction = { name: instruction, line: start, endLine: end + 1, flags, raw: rest };
    if (rest.startsWith('[')) {
      // Like Docker: an argument list that is not a valid JSON array of strings is the shell form.
      try {
        const value: unknown = JSON.parse(rest);
        if (Array.isArray(value) && value.every((v) => typeof v === 'string')) parsed.json = value as string[];
      } catch { /* shell form */ }
    }
    if (instruction === 'ENV' || instruction === 'LABEL' || instruction === 'ARG') parsed.pairs = parsePairs(name, start, instruction, rest, escape);
    if (instruction === 'FROM' && words(rest, escape).length === 0) throw invalid(name, start, 'FROM needs an image');
    instructions.push(parsed);
  }
  if (!instructions.some((i) => i.name === 'FROM')) throw invalid(name, 1, 'no FROM instruction');
  return { name, instructions, escape };
}

/** The command a RUN instruction runs, as one string (exec form joined with spaces). */
export function runCommand(instruction: Instruction): string {
  return instruction.json !== undefined ? instruction.json.join(' ') : instruction.raw;
}
