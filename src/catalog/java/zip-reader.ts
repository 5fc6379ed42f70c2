/** @module catalog/java/zip-reader — promise wrapper over yauzl: walk a zip held in memory, read chosen entries with bounds. */
import yauzl from 'yauzl';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  isDirectory: boolean;
}

/** What the visitor wants done with an entry: skip it, or read it (at most `maxBytes`). */
export type ZipVisit = { read: false } | { read: true; maxBytes: number };

export class ZipEntryTooLargeError extends Error {
  override readonly name = 'ZipEntryTooLargeError';
}

/**
 * Visits every entry in order. `choose` decides per entry; `consume` receives the bytes of chosen entries.
 * Rejects on a malformed archive (after earlier entries have been consumed).
 */
export function walkZip(
  buffer: Buffer,
  choose: (entry: ZipEntryInfo) => ZipVisit,
  consume: (entry: ZipEntryInfo, data: Buffer) => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true }, (openError, zip) => {
      if (openError !== null || zip === undefined) {
        reject(openError ?? new Error('cannot open zip'));
        return;
      }
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        zip.close();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      zip.on('error', fail);
      zip.on('end', () => {
        if (settled) return;
        settled = true;
        resolve();
      });
      zip.on('entry', (raw: yauzl.Entry) => {
        const info: ZipEntryInfo = {
          name: raw.fileName,
          compressedSize: raw.compressedSize,
          uncompressedSize: raw.uncompressedSize,
          isDirectory: raw.fileName.endsWith('/'),
        };
        let visit: ZipVisit;
        try {
          visit = info.isDirectory ? { read: false } : choose(info);
        } catch (error) {
          fail(error);
          return;
        }
        if (!visit.read) {
          zip.readEntry();
          return;
        }
        const limit = visit.maxBytes;
        zip.openReadStream(raw, (streamError, stream) => {
          if (streamError !== null || stream === undefined) {
            fail(streamError ?? new Error('cannot read zip entry'));
            return;
          }
          const chunks: Buffer[] = [];
          let total = 0;
          stream.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > limit) {
              stream.destroy(new ZipEntryTooLargeError(`${info.name} inflates past ${limit} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          stream.on('error', fail);
          stream.on('end', () => {
            consume(info, Buffer.concat(chunks, total)).then(() => {
              if (!settled) zip.readEntry();
            }, fail);
          });
        });
      });
      zip.readEntry();
    });
  });
}
