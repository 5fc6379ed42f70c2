/** @module oci/archive/tar-peek — synchronous, seeking look at an archive's member names, to classify it without reading it. */
import { isDistillError } from '../../errors.js';
import { indexTarFileSync } from '../../filesystem/tar/tar-reader.js';
import { outerTarOptions } from './tar-index.js';

export interface PeekResult {
  /** True when the file starts with a valid tar header (or an end-of-archive block). */
  isTar: boolean;
  /** Member names seen (leading `./` and `/` stripped), up to where the walk stopped. */
  names: string[];
}

/**
 * Walks headers by seeking over content, stopping when `stopWhen` says so or at the first malformed
 * header. Never throws for malformed input: it reports what it saw (read failures still throw).
 */
export function peekTarNames(path: string, stopWhen: (name: string) => boolean = () => false): PeekResult {
  const names: string[] = [];
  const options = outerTarOptions(path, (header) => {
    if (header.typeflag === 'g') return false; // a pax global header is not a member
    const name = header.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    names.push(name);
    return stopWhen(name);
  });
  try {
    indexTarFileSync(path, options);
  } catch (error) {
    if (!isDistillError(error) || error.code === 'IO') throw error;
    // A damaged archive is still an archive if its first header was valid.
    return { isTar: names.length > 0, names };
  }
  return { isTar: true, names };
}
