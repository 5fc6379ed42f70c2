/** @module match/vex — OpenVEX 0.2.0 and CycloneDX VEX: parse statements, match them to findings by vulnerability and purl, suppress. */
import { DistillError } from '../errors.js';
import { tryParsePurl, type PurlParts } from '../sbom/purl.js';
import type { Finding } from './finding.js';

export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';

export interface VexProduct {
  /** purl, or a CycloneDX bom-ref. */
  id: string;
  /** Components inside the product the statement is about (OpenVEX `subcomponents`). */
  subcomponents: string[];
}

export interface VexStatement {
  vulnerability: string;
  aliases: string[];
  products: VexProduct[];
  status: VexStatus;
  justification?: string;
  impact?: string;
  /** The statement's own timestamp, else the document's (ISO). */
  timestamp?: string;
  /** Position in the document's statement list. */
  index: number;
}

export interface VexDocument {
  /** OpenVEX `@id`, CycloneDX serialNumber, else the origin the caller gave. */
  id: string;
  format: 'openvex' | 'cyclonedx';
  timestamp?: string;
  statements: VexStatement[];
}

export interface ApplyVexOptions {
  /**
   * Identifiers (purls, references) of the scanned artifact. When given, an OpenVEX product that lists
   * subcomponents must be one of these; without them any product's subcomponents are accepted.
   */
  subjects?: string[];
}

/** Sizes far beyond any real VEX file: a bound against hostile input, not a limit users meet. */
const MAX_BYTES = 64 << 20;
const MAX_STATEMENTS = 200_000;
const MAX_PRODUCTS = 10_000;

const STATUSES: ReadonlySet<string> = new Set(['not_affected', 'affected', 'fixed', 'under_investigation']);
const JUSTIFICATIONS: ReadonlySet<string> = new Set([
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
]);
/** CycloneDX analysis.state → OpenVEX status. */
const CDX_STATES: Readonly<Record<string, VexStatus>> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
};

function invalid(origin: string, field: string, why: string): DistillError {
  return new DistillError('VEX_INVALID', `${origin}: ${field}: ${why}`, {
    subject: origin,
    hint: 'give an OpenVEX 0.2.0 document (statements[] with vulnerability, products, status) or a CycloneDX document with vulnerabilities[].analysis',
  });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, origin: string, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(origin, field, 'must be a string');
  return value;
}

function requiredString(value: unknown, origin: string, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(origin, field, 'must be a non-empty string');
  return value;
}

function arrayOf(value: unknown, origin: string, field: string, max: number): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(origin, field, 'must be an array');
  if (value.length > max) throw invalid(origin, field, `more than ${max} entries`);
  return value;
}

function timestampOf(value: unknown, origin: string, field: string): string | undefined {
  const text = optionalString(value, origin, field);
  if (text === undefined) return undefined;
  if (Number.isNaN(Date.parse(text))) throw invalid(origin, field, `not a timestamp: ${JSON.stringify(text.slice(0, 60))}`);
  return text;
}

/** Parses a VEX file's bytes or text (OpenVEX 0.2.0 or CycloneDX VEX, told apart by their markers). */
export function parseVex(input: string | Uint8Array, origin = 'VEX document'): VexDocument {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > MAX_BYTES) throw invalid(origin, 'document', `larger than ${MAX_BYTES} bytes`);
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // A RangeError here is a nesting bomb; both are "not JSON we accept".
    throw invalid(origin, 'document', `malformed JSON: ${(error as Error).message}`);
  }
  return parseVexValue(value, origin);
}

export function parseVexValue(value: unknown, origin = 'VEX document'): VexDocument {
  if (!isObject(value)) throw invalid(origin, 'document', 'must be a JSON object');
  const context = value['@context'];
  if (typeof context === 'string' && context.startsWith('https://openvex.dev/ns')) return parseOpenVex(value, origin);
  if (value.bomFormat === 'CycloneDX') return parseCycloneDxVex(value, origin);
  throw invalid(origin, 'document', 'neither OpenVEX (@context https://openvex.dev/ns/…) nor CycloneDX (bomFormat)');
}

function parseOpenVex(doc: Json, origin: string): VexDocument {
  const id = optionalString(doc['@id'], origin, '@id') ?? origin;
  const timestamp = timestampOf(doc.timestamp, origin, 'timestamp');
  if (!Array.isArray(doc.statements)) throw invalid(origin, 'statements', 'missing (an OpenVEX document lists its statements)');
  const statements = arrayOf(doc.statements, origin, 'statements', MAX_STATEMENTS).map((raw, index): VexStatement => {
    const at = `statements[${index}]`;
    if (!isObject(raw)) throw invalid(origin, at, 'must be an object');
    // 0.2.0 writes an object; earlier drafts a bare string.
    let vulnerability: string;
    let aliases: string[] = [];
    if (typeof raw.vulnerability === 'string') vulnerability = requiredString(raw.vulnerability, origin, `${at}.vulnerability`);
    else if (isObject(raw.vulnerability)) {
      vulnerability = requiredString(raw.vulnerability.name ?? raw.vulnerability['@id'], origin, `${at}.vulnerability.name`);
      aliases = arrayOf(raw.vulnerability.aliases, origin, `${at}.vulnerability.aliases`, 1000).map((a, i) => requiredString(a, origin, `${at}.vulnerability.aliases[${i}]`));
    } else throw invalid(origin, `${at}.vulnerability`, 'missing');
    const products = arrayOf(raw.products, origin, `${at}.products`, MAX_PRODUCTS).map((p, i): VexProduct => {
      const pat = `${at}.products[${i}]`;
      if (typeof p === 'string') return { id: requiredString(p, origin, pat), subcomponents: [] };
      if (!isObject(p)) throw invalid(origin, pat, 'must be an object with @id');
      const subcomponents = arrayOf(p.subcomponents, origin, `${pat}.subcomponents`, MAX_PRODUCTS).map((s, j) =>
        typeof s === 'string' ? s : requiredString(isObject(s) ? s['@id'] : undefined, origin, `${pat}.subcomponents[${j}].@id`),
      );
      return { id: requiredString(p['@id'], origin, `${pat}.@id`), subcomponents };
    });
    if (products.length === 0) throw invalid(origin, `${at}.products`, 'a statement names at least one product');
    const status = requiredString(raw.status, origin, `${at}.status`);
    if (!STATUSES.has(status)) throw invalid(origin, `${at}.status`, `unknown status ${JSON.stringify(status.slice(0, 40))}`);
    const justification = optionalString(raw.justification, origin, `${at}.justification`);
    if (justification !== undefined && !JUSTIFICATIONS.has(justification)) throw invalid(origin, `${at}.justification`, `unknown justification ${JSON.stringify(justification.slice(0, 60))}`);
    const impact = optionalString(raw.impact_statement, origin, `${at}.impact_statement`);
    // The spec requires one of the two for not_affected: a bare claim is not evidence.
    if (status === 'not_affected' && justification === undefined && impact === undefined) {
      throw invalid(origin, at, 'a not_affected statement needs a justification or an impact_statement');
    }
    const statement: VexStatement = { vulnerability, aliases, products, status: status as VexStatus, index };
    if (justification !== undefined) statement.justification = justification;
    if (impact !== undefined) statement.impact = impact;
    const when = timestampOf(raw.timestamp, origin, `${at}.timestamp`) ?? timestamp;
    if (when !== undefined) statement.timestamp = when;
    return statement;
  });
  const document: VexDocument = { id, format: 'openvex', statements };
  if (timestamp !== undefined) document.timestamp = timestamp;
  return document;
}

function parseCycloneDxVex(doc: Json, origin: string): VexDocument {
  const id = optionalString(doc.serialNumber, origin, 'serialNumber') ?? origin;
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const timestamp = timestampOf(metadata.timestamp, origin, 'metadata.timestamp');
  // affects[].ref names a bom-ref; the document's own components may give it a purl.
  const purlOfRef = new Map<string, string>();
  const walk = (components: unknown, depth: number): void => {
    if (depth > 32) throw invalid(origin, 'components', 'nested more than 32 levels');
    for (const c of arrayOf(components, origin, 'components', 1_000_000)) {
      if (!isObject(c)) continue;
      if (typeof c['bom-ref'] === 'string' && typeof c.purl === 'string') purlOfRef.set(c['bom-ref'], c.purl);
      walk(c.components, depth + 1);
    }
  };
  walk(doc.components, 0);
  // Components nested under metadata.component are parts of the product the document describes (the image
  // `distill vex --format cyclonedx` writes): a statement on them is scoped to that product, as OpenVEX
  // subcomponents are. Refs to top-level components stay unscoped.
  const product = isObject(metadata.component) ? metadata.component : undefined;
  const productId = product === undefined ? undefined : typeof product.purl === 'string' ? product.purl : typeof product['bom-ref'] === 'string' ? product['bom-ref'] : undefined;
  const partOfProduct = new Map<string, string>();
  if (product !== undefined && productId !== undefined) {
    const nested = (components: unknown, depth: number): void => {
      if (depth > 32) throw invalid(origin, 'metadata.component.components', 'nested more than 32 levels');
      for (const c of arrayOf(components, origin, 'metadata.component.components', 1_000_000)) {
        if (!isObject(c) || typeof c['bom-ref'] !== 'string') continue;
        partOfProduct.set(c['bom-ref'], typeof c.purl === 'string' ? c.purl : c['bom-ref']);
        nested(c.components, depth + 1);
      }
    };
    nested(product.components, 0);
  }
  if (!Array.isArray(doc.vulnerabilities)) throw invalid(origin, 'vulnerabilities', 'missing (a CycloneDX VEX document lists vulnerabilities with analysis)');
  const statements: VexStatement[] = [];
  arrayOf(doc.vulnerabilities, origin, 'vulnerabilities', MAX_STATEMENTS).forEach((raw, index) => {
    const at = `vulnerabilities[${index}]`;
    if (!isObject(raw)) throw invalid(origin, at, 'must be an object');
    const vulnerability = requiredString(raw.id, origin, `${at}.id`);
    // Entries without analysis are plain findings, not VEX statements.
    if (raw.analysis === undefined) return;
    if (!isObject(raw.analysis)) throw invalid(origin, `${at}.analysis`, 'must be an object');
    const state = requiredString(raw.analysis.state, origin, `${at}.analysis.state`);
    const status = CDX_STATES[state];
    if (status === undefined) throw invalid(origin, `${at}.analysis.state`, `unknown state ${JSON.stringify(state.slice(0, 40))}`);
    const aliases = arrayOf(raw.references, origin, `${at}.references`, 1000).flatMap((r) => (isObject(r) && typeof r.id === 'string' ? [r.id] : []));
    const products = arrayOf(raw.affects, origin, `${at}.affects`, MAX_PRODUCTS).map((a, i): VexProduct => {
      if (!isObject(a)) throw invalid(origin, `${at}.affects[${i}]`, 'must be an object with ref');
      const ref = requiredString(a.ref, origin, `${at}.affects[${i}].ref`);
      const part = partOfProduct.get(ref);
      if (part !== undefined && productId !== undefined) return { id: productId, subcomponents: [part] };
      return { id: purlOfRef.get(ref) ?? ref, subcomponents: [] };
    });
    if (products.length === 0) throw invalid(origin, `${at}.affects`, 'a VEX entry names at least one affected ref');
    const statement: VexStatement = { vulnerability, aliases, products, status, index };
    const justification = optionalString(raw.analysis.justification, origin, `${at}.analysis.justification`);
    const detail = optionalString(raw.analysis.detail, origin, `${at}.analysis.detail`);
    statement.justification = state === 'false_positive' ? 'false_positive' : justification;
    if (statement.justification === undefined) delete statement.justification;
    if (detail !== undefined) statement.impact = detail;
    const when = timestampOf(raw.updated, origin, `${at}.updated`) ?? timestampOf(raw.published, origin, `${at}.published`) ?? timestamp;
    if (when !== undefined) statement.timestamp = when;
    statements.push(statement);
  });
  const document: VexDocument = { id, format: 'cyclonedx', statements };
  if (timestamp !== undefined) document.timestamp = timestamp;
  return document;
}

interface ComparablePurl {
  type: string;
  namespace: string;
  name: string;
  version?: string;
  qualifiers: Map<string, string>;
  subpath?: string;
}

/** Debian and RPM purls may carry the epoch as a qualifier or inside the version: fold it into the version. */
function comparable(parts: PurlParts): ComparablePurl {
  const qualifiers = new Map(parts.qualifiers);
  let version = parts.version;
  const epoch = qualifiers.get('epoch');
  if ((parts.type === 'deb' || parts.type === 'rpm') && epoch !== undefined) {
    qualifiers.delete('epoch');
    if (version !== undefined && !/^\d+:/.test(version) && epoch !== '0') version = `${epoch}:${version}`;
  }
  const result: ComparablePurl = { type: parts.type.toLowerCase(), namespace: (parts.namespace ?? '').toLowerCase(), name: parts.name, qualifiers };
  if (version !== undefined) result.version = version;
  if (parts.subpath !== undefined) result.subpath = parts.subpath;
  return result;
}

const purlCache = new Map<string, ComparablePurl | null>();

function comparablePurl(purl: string): ComparablePurl | null {
  let hit = purlCache.get(purl);
  if (hit === undefined) {
    const parts = purl.startsWith('pkg:') ? tryParsePurl(purl) : undefined;
    hit = parts === undefined ? null : comparable(parts);
    if (purlCache.size > 100_000) purlCache.clear();
    purlCache.set(purl, hit);
  }
  return hit;
}

/**
 * Whether a statement's purl covers a package's purl (purl spec matching): type, namespace and name must be
 * equal, the version only when the statement gives one, qualifiers and subpath only those the statement gives.
 */
export function purlCovers(statementPurl: string, packagePurl: string): boolean {
  const s = comparablePurl(statementPurl);
  const p = comparablePurl(packagePurl);
  if (s === null || p === null) return false;
  // Names of some types are case-insensitive, and packageurl-js already lower-cases those it knows.
  if (s.type !== p.type || s.namespace !== p.namespace || s.name !== p.name) return false;
  if (s.version !== undefined && s.version !== p.version) return false;
  for (const [key, value] of s.qualifiers) if (p.qualifiers.get(key) !== value) return false;
  if (s.subpath !== undefined && s.subpath !== p.subpath) return false;
  return true;
}

/** A CycloneDX BOM-Link (`urn:cdx:serial/1#ref`) names the ref after `#`. */
function refOf(id: string): string {
  if (!id.startsWith('urn:cdx:')) return id;
  const hash = id.indexOf('#');
  return hash === -1 ? id : decodeURIComponent(id.slice(hash + 1));
}

function identifies(id: string, finding: Finding): boolean {
  const ref = refOf(id);
  if (ref.startsWith('pkg:')) return purlCovers(ref, finding.purl);
  return ref === finding.packageId || ref === finding.purl;
}

/** `distill/nginx:latest` → `distill/nginx` (a colon after the last slash starts the tag; one before it is a port). */
function repositoryOfTag(tag: string): string {
  const at = tag.indexOf('@');
  const name = at === -1 ? tag : tag.slice(0, at);
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/**
 * Whether a `pkg:oci/…` product names the scanned image. With a version (a manifest digest) it does exactly
 * when that digest is the image's: the digest is the content address, so names and tags are not consulted.
 * Without a version it does when its `repository_url` qualifier (else its name, as the last repository
 * fragment) is the repository of one of the image's tags. Subjects are the strings scanSbom passes: reference,
 * manifest digest, tags.
 */
function ociProductNames(productId: string, subjects: readonly string[]): boolean {
  const product = productId.startsWith('pkg:oci/') ? comparablePurl(productId) : null;
  if (product === null || product.type !== 'oci') return false;
  if (product.version !== undefined) {
    const digest = product.version.toLowerCase();
    return /^[a-z0-9]+:[0-9a-f]+$/.test(digest) && subjects.some((s) => s.toLowerCase() === digest);
  }
  const repositoryUrl = product.qualifiers.get('repository_url');
  return subjects.some((s) => {
    // Only tags name repositories: skip the digest and the transport reference.
    if (/^[a-z0-9]+:[0-9a-f]{32,}$/i.test(s) || /^(oci|oci-archive|docker-archive|dir|sbom):/.test(s)) return false;
    const repository = repositoryOfTag(s);
    if (repositoryUrl !== undefined) return repository === repositoryUrl;
    return repository.slice(repository.lastIndexOf('/') + 1).toLowerCase() === product.name.toLowerCase();
  });
}

function statementCovers(statement: VexStatement, finding: Finding, subjects: string[] | undefined): boolean {
  const ids = new Set([finding.vulnId, ...finding.aliases]);
  if (!ids.has(statement.vulnerability) && !statement.aliases.some((a) => ids.has(a))) return false;
  return statement.products.some((product) => {
    if (product.subcomponents.length === 0) return identifies(product.id, finding);
    const productIsSubject =
      subjects === undefined ||
      subjects.some((s) => s === product.id || (product.id.startsWith('pkg:') && s.startsWith('pkg:') && purlCovers(product.id, s))) ||
      ociProductNames(product.id, subjects);
    return productIsSubject && product.subcomponents.some((sub) => identifies(sub, finding));
  });
}

function describeStatement(document: VexDocument, statement: VexStatement): string {
  return `${document.id}#${statement.index}`;
}

/**
 * Applies VEX statements: for each finding, the latest matching statement (by timestamp, later documents and
 * later statements winning ties) decides; `not_affected` and `fixed` suppress it. Findings already suppressed
 * for another reason keep that reason. Statements that match no finding are returned for the caller to warn.
 */
export function applyVex(findings: Finding[], documents: readonly VexDocument[], options: ApplyVexOptions = {}): { findings: Finding[]; unmatchedStatements: string[] } {
  const all: Array<{ document: VexDocument; statement: VexStatement; order: number; time: number }> = [];
  for (const document of documents) {
    for (const statement of document.statements) {
      const time = statement.timestamp === undefined ? Number.NEGATIVE_INFINITY : Date.parse(statement.timestamp);
      all.push({ document, statement, order: all.length, time });
    }
  }
  // Index statements by every id they name, so each finding only looks at its own candidates.
  const byId = new Map<string, number[]>();
  all.forEach(({ statement }, i) => {
    for (const id of new Set([statement.vulnerability, ...statement.aliases])) {
      const list = byId.get(id);
      if (list === undefined) byId.set(id, [i]);
      else list.push(i);
    }
  });
  const used = new Set<number>();
  const result = findings.map((finding) => {
    const candidates = new Set<number>();
    for (const id of [finding.vulnId, ...finding.aliases]) for (const i of byId.get(id) ?? []) candidates.add(i);
    let winner: (typeof all)[number] | undefined;
    for (const i of candidates) {
      const entry = all[i]!;
      if (!statementCovers(entry.statement, finding, options.subjects)) continue;
      used.add(i);
      if (winner === undefined || entry.time > winner.time || (entry.time === winner.time && entry.order > winner.order)) winner = entry;
    }
    if (winner === undefined || finding.suppressed !== undefined) return finding;
    const { statement, document } = winner;
    if (statement.status !== 'not_affected' && statement.status !== 'fixed') return finding;
    const reason = [statement.status, statement.justification, statement.impact].filter((x) => x !== undefined && x !== '').join(': ');
    return { ...finding, suppressed: { kind: 'vex' as const, reason, statement: describeStatement(document, statement) } };
  });
  const unmatchedStatements = all
    .filter((_, i) => !used.has(i))
    .map(({ document, statement }) => `${describeStatement(document, statement)}: ${statement.vulnerability} (${statement.status}) for ${statement.products.map((p) => [p.id, ...p.subcomponents].join(' > ')).join(', ')} matched no finding`);
  return { findings: result, unmatchedStatements };
}
