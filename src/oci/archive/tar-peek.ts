/** @module oci/archive/tar-peek — synchronous, seeking look at an archive's member names, to classify it without reading it. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isDistillError } from '../../errors.js';
import { walkOuterTar } from './outer-tar.js';

export interface PeekResult {
  /** True when the file starts with a valid tar header (or an end-of-archive block). */
  isTar: boolean;
  /** Member names seen (leading `./` and `/` stripped), up to where the walk stopped. */
  names: string[];
}

/**
 * Walks headers by seeking over content, stopping when `stopWhen` says so or at the first malformed
 * header. Never throws for malformed input: it reports what it saw.
 */
export function peekTarNames(path: string, stopWhen: (name: string) => boolean = () => false): PeekResult {
  const fd = openSync(path, 'r');
  const names: string[] = [];
  try {
    const size = fstatSync(fd).size;
    if (size < 512) return { isTar: false, names };
    const walker = walkOuterTar(path, size, (member) => {
      const name = member.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
      names.push(name);
      return stopWhen(name);
    });
    try {
      let request = walker.next();
      while (request.done !== true) {
        const buffer = Buffer.alloc(request.value.length);
        const read = readSync(fd, buffer, 0, buffer.length, request.value.offset);
        request = walker.next(buffer.subarray(0, read));
      }
    } catch (error) {
      if (!isDistillError(error)) throw error;
      // A damaged archive is still an archive if its first header was valid.
      return { isTar: names.length > 0, names };
    }
    return { isTar: true, names };
  } finally {
    closeSync(fd);
  }
}
