/** @module sbom/formats/licenses — classify declared licenses as SPDX id, SPDX expression or free-form name. */
import * as SPDX from '@cyclonedx/cyclonedx-library/SPDX';

export type LicenseKind = { kind: 'id'; id: string } | { kind: 'expression'; expression: string } | { kind: 'name'; name: string };

const OPERATORS = new Set(['AND', 'OR', 'WITH']);

/** True for a known SPDX license id (as listed in the schema the CycloneDX library ships) or `LicenseRef-…`. */
export function isSpdxLicenseId(value: string): boolean {
  return SPDX.isSupportedSpdxId(value) || /^LicenseRef-[A-Za-z0-9.-]+$/.test(value);
}

/**
 * A well-formed SPDX expression with at least one operator: balanced parentheses, operators in upper
 * case, license operands known ids (optionally `+`) or LicenseRefs, exception operands after WITH.
 */
export function isSpdxExpression(value: string): boolean {
  if (value.length > 4096) return false;
  const tokens = value.replace(/([()])/g, ' $1 ').trim().split(/\s+/);
  let depth = 0;
  let operators = 0;
  let expectOperand = true;
  let afterWith = false;
  for (const token of tokens) {
    if (token === '(') {
      if (!expectOperand) return false;
      depth++;
    } else if (token === ')') {
      if (expectOperand || --depth < 0) return false;
    } else if (OPERATORS.has(token)) {
      if (expectOperand) return false;
      operators++;
      afterWith = token === 'WITH';
      expectOperand = true;
    } else {
      if (!expectOperand) return false;
      const ok = afterWith ? /^[A-Za-z0-9.-]+$/.test(token) : isSpdxLicenseId(token.replace(/\+$/, ''));
      if (!ok) return false;
      afterWith = false;
      expectOperand = false;
    }
  }
  return operators > 0 && depth === 0 && !expectOperand;
}

export function classifyLicense(value: string): LicenseKind {
  const trimmed = value.trim();
  if (SPDX.isSupportedSpdxId(trimmed)) return { kind: 'id', id: trimmed };
  if (isSpdxExpression(trimmed)) return { kind: 'expression', expression: trimmed };
  return { kind: 'name', name: trimmed };
}

/** Splits an expression at its top-level ANDs, dropping one layer of enclosing parentheses per operand. */
export function splitConjunction(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  const s = expression.trim();
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && s.startsWith(' AND ', i)) {
      parts.push(s.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  parts.push(s.slice(start));
  return parts.map((part) => stripParens(part.trim())).filter((part) => part !== '');
}

function stripParens(value: string): string {
  if (!value.startsWith('(') || !value.endsWith(')')) return value;
  // Only strip when the outer pair encloses the whole operand.
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '(') depth++;
    else if (value[i] === ')' && --depth === 0 && i < value.length - 1) return value;
  }
  return value.slice(1, -1).trim();
}
