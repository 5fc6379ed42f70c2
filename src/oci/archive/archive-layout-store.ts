/** @module oci/archive/archive-layout-store — an OCI layout read in place from a tar (oci-archive, docker ≥25 save). */
import type { Readable } from 'node:stream';
import { DistillError } from '../../errors.js';
import type { LayoutStore } from '../layout/layout-store.js';
import type { TarIndex } from './tar-index.js';

export class ArchiveLayoutStore implements LayoutStore {
  readonly location: string;

  constructor(private readonly index: TarIndex) {
    this.location = index.path;
  }

  describe(path: string): string {
    return this.index.describe(path);
  }

  async size(path: string): Promise<number | undefined> {
    return this.index.get(path)?.size;
  }

  async read(path: string, maxSize: number): Promise<Buffer | undefined> {
    const member = this.index.get(path);
    if (member === undefined) return undefined;
    if (member.size > maxSize) {
      throw new DistillError('MANIFEST_INVALID', `${this.describe(path)}: ${member.size} bytes exceeds the ${maxSize}-byte limit`, {
        subject: this.describe(path),
      });
    }
    return this.index.read(member);
  }

  async stream(path: string): Promise<Readable | undefined> {
    const member = this.index.get(path);
    return member === undefined ? undefined : this.index.stream(member);
  }

  async close(): Promise<void> {
    await this.index.close();
  }
}
