/** @module oci/artifacts/artifact-kinds — which document is an SBOM, a VEX or a provenance statement, and the artifact media type each is attached with. */
import { DistillError } from '../../errors.js';

export const ARTIFACT_KINDS = ['sbom', 'vex', 'provenance'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export const ArtifactMediaType = {
  cyclonedx: 'application/vnd.cyclonedx+json',
  spdx: 'application/spdx+json',
  openvex: 'application/openvex+json',
  inToto: 'application/vnd.in-toto+json',
  dsse: 'application/vnd.dsse.envelope.v1+json',
} as const;

/** in-toto Statement `_type`s accepted as provenance (v1 is what distill writes). */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
const IN_TOTO_STATEMENT_TYPES: ReadonlySet<string> = new Set([IN_TOTO_STATEMENT_V1, 'https://in-toto.io/Statement/v0.1']);

/** Documents larger than this are not attached (SBOMs of big images are a few MiB). */
export const MAX_DOCUMENT_SIZE = 64 * 1024 * 1024;

export interface ClassifiedDocument {
  kind: ArtifactKind;
  /** The artifactType and layer media type. */
  mediaType: string;
  /** A short name of the format, for listings: `CycloneDX 1.5`, `SPDX-2.3`, `OpenVEX`, `in-toto (https://slsa.dev/provenance/v1)`. */
  format: string;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function refuse(kind: ArtifactKind, subject: string, message: string): DistillError {
  const code = kind === 'sbom' ? 'SBOM_INVALID' : kind === 'vex' ? 'VEX_INVALID' : 'SOURCE_UNRECOGNIZED';
  return new DistillError(code, `${subject}: ${message}`, { subject });
}

/**
 * Checks that `data` is a document of `kind` and names its media type: CycloneDX or SPDX JSON for `sbom`,
 * OpenVEX or CycloneDX VEX for `vex`, an in-toto Statement (or a DSSE envelope around one) for `provenance`.
 */
export function classifyDocument(kind: ArtifactKind, data: Buffer, subject = 'document'): ClassifiedDocument {
  if (data.length > MAX_DOCUMENT_SIZE) throw refuse(kind, subject, `${data.length} bytes exceeds the ${MAX_DOCUMENT_SIZE}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw refuse(kind, subject, `not JSON (${(error as Error).message})`);
  }
  const object = record(json);
  if (object === undefined) throw refuse(kind, subject, 'must be a JSON object');
  const cyclonedx = object.bomFormat === 'CycloneDX';
  const specVersion = typeof object.specVersion === 'string' ? object.specVersion : '?';
  if (kind === 'sbom') {
    if (cyclonedx) return { kind, mediaType: ArtifactMediaType.cyclonedx, format: `CycloneDX ${specVersion}` };
    if (typeof object.spdxVersion === 'string' && object.spdxVersion.startsWith('SPDX-')) return { kind, mediaType: ArtifactMediaType.spdx, format: object.spdxVersion };
    throw refuse(kind, subject, 'is neither CycloneDX JSON (bomFormat) nor SPDX JSON (spdxVersion)');
  }
  if (kind === 'vex') {
    const context = object['@context'];
    if (typeof context === 'string' && context.startsWith('https://openvex.dev/ns')) return { kind, mediaType: ArtifactMediaType.openvex, format: 'OpenVEX' };
    if (cyclonedx && Array.isArray(object.vulnerabilities)) return { kind, mediaType: ArtifactMediaType.cyclonedx, format: `CycloneDX ${specVersion} VEX` };
    throw refuse(kind, subject, 'is neither OpenVEX (@context https://openvex.dev/ns/…) nor CycloneDX with vulnerabilities');
  }
  if (typeof object.payloadType === 'string' && typeof object.payload === 'string' && Array.isArray(object.signatures)) {
    if (object.payloadType !== ArtifactMediaType.inToto) throw refuse(kind, subject, `DSSE envelope carries ${object.payloadType}, not an in-toto statement`);
    return { kind, mediaType: ArtifactMediaType.dsse, format: 'DSSE (in-toto)' };
  }
  const type = object._type;
  if (typeof type !== 'string' || !IN_TOTO_STATEMENT_TYPES.has(type)) throw refuse(kind, subject, `is not an in-toto Statement (_type ${JSON.stringify(type ?? null)})`);
  if (!Array.isArray(object.subject) || object.subject.length === 0) throw refuse(kind, subject, 'in-toto Statement has no subject');
  for (const [i, entry] of object.subject.entries()) {
    const digest = record(record(entry)?.digest);
    if (digest === undefined || Object.keys(digest).length === 0) throw refuse(kind, subject, `subject[${i}] has no digest`);
  }
  if (typeof object.predicateType !== 'string') throw refuse(kind, subject, 'in-toto Statement has no predicateType');
  return { kind, mediaType: ArtifactMediaType.inToto, format: `in-toto (${object.predicateType})` };
}

/** The kind an artifact listed without distill's kind annotation most likely is, from its artifactType. */
export function kindOfArtifactType(artifactType: string | undefined): ArtifactKind | undefined {
  if (artifactType === ArtifactMediaType.openvex) return 'vex';
  if (artifactType === ArtifactMediaType.cyclonedx || artifactType === ArtifactMediaType.spdx) return 'sbom';
  if (artifactType === ArtifactMediaType.inToto || artifactType === ArtifactMediaType.dsse) return 'provenance';
  return undefined;
}
