/** @module report/vex/vex-writers — GeneratedVex as an OpenVEX 0.2.0 document or a CycloneDX 1.6 VEX BOM, byte-identical for equal input. */
import { createHash } from 'node:crypto';
import type { GeneratedStatement, GeneratedVex } from './vex-statements.js';

export const VEX_FORMATS = ['openvex', 'cyclonedx'] as const;
export type VexFormat = (typeof VEX_FORMATS)[number];

export interface VexWriteOptions {
  /** The document's author (OpenVEX `author`, CycloneDX `metadata.authors[0].name`); default "distill". */
  author?: string;
  /** Issue time (pin it for reproducible output). */
  timestamp: Date;
  tool: { name: string; version: string };
}

/** RFC 3339 without milliseconds, as OpenVEX examples and vexctl write it. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A name-based UUID (RFC 9562 version 8, SHA-256) over the document's content: same content, same id. */
function contentUuid(kind: string, content: unknown): string {
  const hex = createHash('sha256').update(kind).update('\0').update(JSON.stringify(content)).digest('hex').slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function openVexStatement(s: GeneratedStatement, product: string, timestamp: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    vulnerability: { name: s.vulnerability, ...(s.aliases.length > 0 ? { aliases: s.aliases } : {}) },
    products: [{ '@id': product, subcomponents: s.subcomponents.map((purl) => ({ '@id': purl })) }],
    status: s.status,
  };
  if (s.statusNotes !== undefined) out.status_notes = s.statusNotes;
  if (s.justification !== undefined) out.justification = s.justification;
  if (s.impactStatement !== undefined) out.impact_statement = s.impactStatement;
  if (s.actionStatement !== undefined) {
    out.action_statement = s.actionStatement;
    out.action_statement_timestamp = timestamp;
  }
  return out;
}

/**
 * OpenVEX 0.2.0: @context, @id (`urn:uuid:` of a SHA-256 over the content, so equal input gives an equal id),
 * author, timestamp, version 1, tooling, and one statement per GeneratedStatement whose single product is the
 * image purl with the packages as subcomponents. Two-space indented JSON with a final newline.
 */
export function encodeOpenVex(vex: GeneratedVex, options: VexWriteOptions): string {
  const timestamp = rfc3339(options.timestamp);
  const author = options.author ?? 'distill';
  const statements = vex.statements.map((s) => openVexStatement(s, vex.product, timestamp));
  const document = {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `urn:uuid:${contentUuid('openvex', { author, timestamp, statements })}`,
    author,
    timestamp,
    version: 1,
    tooling: `${options.tool.name} ${options.tool.version}`,
    statements,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

const CDX_JUSTIFICATION: Record<NonNullable<GeneratedStatement['justification']>, string> = {
  // CycloneDX has one label for both: the vulnerable code is not in the product.
  component_not_present: 'code_not_present',
  vulnerable_code_not_present: 'code_not_present',
};

function aliasSource(id: string): { name: string; url: string } {
  if (id.startsWith('CVE-')) return { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${id}` };
  if (id.startsWith('GHSA-')) return { name: 'GitHub', url: `https://github.com/advisories/${id}` };
  return { name: 'OSV', url: `https://osv.dev/vulnerability/${id}` };
}

function cdxVulnerability(s: GeneratedStatement, index: number): Record<string, unknown> {
  const analysis: Record<string, unknown> = {};
  if (s.status === 'not_affected') {
    analysis.state = 'not_affected';
    analysis.justification = CDX_JUSTIFICATION[s.justification ?? 'component_not_present'];
    analysis.detail = [s.justification, s.impactStatement, s.statusNotes].filter((x) => x !== undefined).join(': ');
  } else if (s.status === 'fixed') {
    analysis.state = 'resolved';
    if (s.statusNotes !== undefined) analysis.detail = s.statusNotes;
  } else if (s.status === 'affected') {
    analysis.state = 'exploitable';
    analysis.response = [/^upgrade /.test(s.actionStatement ?? '') ? 'update' : 'can_not_fix'];
    if (s.actionStatement !== undefined) analysis.detail = s.actionStatement;
  } else {
    analysis.state = 'in_triage';
  }
  return {
    'bom-ref': `vex-${index + 1}`,
    id: s.vulnerability,
    source: aliasSource(s.vulnerability),
    ...(s.aliases.length > 0 ? { references: s.aliases.map((id) => ({ id, source: aliasSource(id) })) } : {}),
    ...(s.actionStatement !== undefined ? { recommendation: s.actionStatement } : {}),
    analysis,
    affects: s.subcomponents.map((ref) => ({ ref })),
  };
}

/**
 * CycloneDX 1.6 VEX: metadata.component is the image (type container, bom-ref and purl = the product purl)
 * with the statements' packages nested as its components (bom-ref = purl), so `scan --vex` scopes each
 * statement to this image as it does OpenVEX subcomponents. Status → analysis.state: not_affected →
 * not_affected (justification code_not_present), fixed → resolved, affected → exploitable (response update
 * or can_not_fix, recommendation = the action), under_investigation → in_triage.
 */
export function encodeCycloneDxVex(vex: GeneratedVex, options: VexWriteOptions): string {
  const timestamp = rfc3339(options.timestamp);
  const author = options.author ?? 'distill';
  const digest = /@([^?#]+)/.exec(vex.product)?.[1];
  const imageName = /^pkg:oci\/([^@?#]+)/.exec(vex.product)?.[1] ?? vex.product;
  const vulnerabilities = vex.statements.map(cdxVulnerability);
  const component = {
    type: 'container',
    'bom-ref': vex.product,
    name: decodeURIComponent(imageName),
    ...(digest !== undefined ? { version: decodeURIComponent(digest) } : {}),
    purl: vex.product,
    components: vex.components.map((c) => ({ type: 'library', 'bom-ref': c.purl, name: c.name, version: c.version, purl: c.purl })),
  };
  const body = { timestamp, author, component, vulnerabilities };
  const bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${contentUuid('cyclonedx', body)}`,
    version: 1,
    metadata: {
      timestamp,
      tools: { components: [{ type: 'application', name: options.tool.name, version: options.tool.version }] },
      authors: [{ name: author }],
      component,
    },
    vulnerabilities,
  };
  return `${JSON.stringify(bom, null, 2)}\n`;
}
