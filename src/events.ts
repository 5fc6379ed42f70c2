/** @module events — typed progress events; the library reports progress through these and never prints. */

export type ProgressEvent =
  | { kind: 'source-opened'; reference: string; transport: string }
  | { kind: 'layer-start'; index: number; count: number; digest: string; size: number }
  | { kind: 'layer-progress'; index: number; bytes: number; size: number }
  | { kind: 'layer-done'; index: number; entries: number }
  | { kind: 'catalog-start'; cataloger: string }
  | { kind: 'catalog-done'; cataloger: string; packages: number; issues: number }
  | { kind: 'match-progress'; packages: number; total: number }
  | { kind: 'match-done'; packages: number; findings: number };

export type ProgressListener = (event: ProgressEvent) => void;

/** A listener that ignores everything, for callers that do not care. */
export const ignoreProgress: ProgressListener = () => {};
