/** @module debian/deb822 — bounded parser for Debian control-file syntax (dpkg status, status.d, DEP-5 copyright). */
import { isUtf8 } from 'node:buffer';
import type { Issue } from '../errors.js';

/** One paragraph (stanza). Field names are matched case-insensitively, as dpkg does. */
export interface Deb822Paragraph {
  /** 1-based line number of the paragraph's first field, for issue messages. */
  line: number;
  /** Field values keyed by lower-cased name. See {@link parseDeb822} for the value format. */
  fields: Map<string, string>;
}

export interface Deb822Options {
  /** Image path of the file, recorded on issues. */
  path?: string;
  /** Larger inputs are refused with a FILE_TOO_LARGE issue. Default 64 MiB. */
  maxBytes?: number;
  /** A field whose value grows beyond this is dropped with a FILE_TOO_LARGE issue. Default 1 MiB. */
  maxFieldBytes?: number;
  /** At most this many issues are recorded per input; the rest are summarised. Default 50. */
  maxIssues?: number;
}

export interface Deb822Result {
  paragraphs: Deb822Paragraph[];
  issues: Issue[];
}

export const DEB822_MAX_BYTES = 64 * 1024 * 1024;
export const DEB822_MAX_FIELD_BYTES = 1024 * 1024;

/** A field's value by (case-insensitive) name. */
export function field(paragraph: Deb822Paragraph, name: string): string | undefined {
  return paragraph.fields.get(name.toLowerCase());
}

/**
 * Parses deb822 text. A field's value is the text after the colon (trimmed), followed by one `\n`-separated line
 * per continuation line with its single leading space or tab removed; a continuation line of just `.` becomes an
 * empty line. Paragraphs are separated by blank (or whitespace-only) lines; `#` lines are comments; CRLF and lone
 * CR line ends are accepted. Never throws: malformed lines, oversized fields and invalid UTF-8 become issues.
 */
export function parseDeb822(input: Buffer | string, options: Deb822Options = {}): Deb822Result {
  const issues: Issue[] = [];
  const maxIssues = options.maxIssues ?? 50;
  let dropped = 0;
  const note = (code: Issue['code'], message: string): void => {
    if (issues.length < maxIssues) issues.push(withPath({ code, message }, options.path));
    else dropped++;
  };
  const maxBytes = options.maxBytes ?? DEB822_MAX_BYTES;
  const maxField = options.maxFieldBytes ?? DEB822_MAX_FIELD_BYTES;
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > maxBytes) {
    note('FILE_TOO_LARGE', `control file is ${size} bytes, more than the ${maxBytes}-byte limit; not parsed`);
    return { paragraphs: [], issues };
  }
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (!isUtf8(input)) note('INVALID_UTF8', 'control file is not valid UTF-8; invalid bytes were replaced with U+FFFD');
    text = input.toString('utf8');
  }

  // CRLF and lone CR line ends become LF in one pass (only when a CR is present at all).
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');

  const paragraphs: Deb822Paragraph[] = [];
  let current: Deb822Paragraph | undefined;
  // The field being built: its name, its parts (joined once at the end) and its running size.
  let name: string | undefined;
  let parts: string[] = [];
  let partsSize = 0;
  let oversized = false;

  const finishField = (): void => {
    if (name !== undefined && current !== undefined && !oversized) {
      if (current.fields.has(name)) note('PARSE_FAILED', `line ${current.line}: duplicate field "${name}" in one paragraph; the first is kept`);
      else current.fields.set(name, parts.length === 1 ? parts[0]! : parts.join('\n'));
    }
    name = undefined;
    parts = [];
    partsSize = 0;
    oversized = false;
  };
  const finishParagraph = (): void => {
    finishField();
    if (current !== undefined && current.fields.size > 0) paragraphs.push(current);
    current = undefined;
  };

  let lineNo = 0;
  let pos = 0;
  const end = text.length;
  while (pos < end) {
    let next = text.indexOf('\n', pos);
    if (next === -1) next = end;
    const line = text.slice(pos, next);
    pos = next + 1;
    lineNo++;
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // Continuation line, or a whitespace-only separator.
      if (line.trim() === '') {
        finishParagraph();
        continue;
      }
      if (name === undefined) {
        if (current !== undefined || paragraphs.length > 0) note('PARSE_FAILED', `line ${lineNo}: continuation line without a field`);
        else note('PARSE_FAILED', `line ${lineNo}: file starts with a continuation line`);
        continue;
      }
      if (oversized) continue;
      const body = line.slice(1);
      const value = body === '.' ? '' : body;
      partsSize += value.length + 1;
      if (partsSize > maxField) {
        oversized = true;
        note('FILE_TOO_LARGE', `line ${current?.line ?? lineNo}: field "${name}" is larger than ${maxField} bytes; dropped`);
        continue;
      }
      parts.push(value);
      continue;
    }
    if (line === '') {
      finishParagraph();
      continue;
    }
    if (first === 0x23 /* # */) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      note('PARSE_FAILED', `line ${lineNo}: expected "Field: value", got "${truncate(line)}"`);
      continue;
    }
    finishField();
    if (current === undefined) current = { line: lineNo, fields: new Map() };
    name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (value.length > maxField) {
      oversized = true;
      note('FILE_TOO_LARGE', `line ${lineNo}: field "${name}" is larger than ${maxField} bytes; dropped`);
    } else {
      parts = [value];
      partsSize = value.length;
    }
  }
  finishParagraph();
  if (dropped > 0) issues.push(withPath({ code: 'PARSE_FAILED', message: `${dropped} further problems in this file were not recorded` }, options.path));
  return { paragraphs, issues };
}

function withPath(issue: Issue, path: string | undefined): Issue {
  return path === undefined ? issue : { ...issue, path };
}

function truncate(line: string): string {
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}
