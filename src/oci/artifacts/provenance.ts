/** @module oci/artifacts/provenance — in-toto Statement v1 with a SLSA provenance v1 predicate, for images distill built. */
import { parseDigest } from '../digest.js';
import { IN_TOTO_STATEMENT_V1 } from './artifact-kinds.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** buildType of a distill build: a recipe resolved against signed Debian archives into an OCI image. */
export const DISTILL_BUILD_TYPE = 'https://github.com/distill/distill/build-types/recipe/v1';

export interface ResourceDescriptor {
  uri?: string;
  name?: string;
  digest: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ProvenanceInput {
  /** Image name (registry/repository) and the manifest or index digest it was built as. */
  subject: { name: string; digest: string };
  /** What the build was asked: recipe path and digest, platforms. */
  externalParameters: Record<string, unknown>;
  /** What it used: the recipe, each .deb (archive URI, sha256). */
  resolvedDependencies: ResourceDescriptor[];
  builderId: string;
  builderVersion?: Record<string, string>;
  startedOn?: Date;
  finishedOn?: Date;
  invocationId?: string;
  buildType?: string;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The statement as JSON text (two-space indented, key order fixed, so equal inputs give equal bytes). */
export function buildSlsaProvenance(input: ProvenanceInput): string {
  const digest = parseDigest(input.subject.digest, 'provenance subject');
  const metadata: Record<string, string> = {};
  if (input.invocationId !== undefined) metadata.invocationId = input.invocationId;
  if (input.startedOn !== undefined) metadata.startedOn = timestamp(input.startedOn);
  if (input.finishedOn !== undefined) metadata.finishedOn = timestamp(input.finishedOn);
  const statement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: input.subject.name, digest: { [digest.algorithm]: digest.hex } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: input.buildType ?? DISTILL_BUILD_TYPE,
        externalParameters: input.externalParameters,
        resolvedDependencies: input.resolvedDependencies,
      },
      runDetails: {
        builder: { id: input.builderId, ...(input.builderVersion === undefined ? {} : { version: input.builderVersion }) },
        ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
      },
    },
  };
  return `${JSON.stringify(statement, null, 2)}\n`;
}
