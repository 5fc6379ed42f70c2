/** @module cli/progress — renders library progress events as one updating line on a TTY, silent otherwise. */
import type { ProgressEvent, ProgressListener } from '../events.js';

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** A listener that draws on stderr only when it is a terminal; `clear()` erases the line before output. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): { listener: ProgressListener; clear(): void } {
  if (!stream.isTTY) return { listener: () => {}, clear: () => {} };
  let drawn = false;
  let last = 0;
  const draw = (text: string, force = false) => {
    const now = Date.now();
    if (!force && now - last < 80) return;
    last = now;
    stream.write(`\r\x1b[2K${text.slice(0, (stream.columns ?? 80) - 1)}`);
    drawn = true;
  };
  const listener = (event: ProgressEvent) => {
    switch (event.kind) {
      case 'source-opened':
        draw(`opened ${event.reference} (${event.transport})`, true);
        break;
      case 'layer-start':
        draw(`layer ${event.index + 1}/${event.count} ${event.digest.slice(7, 19)} ${megabytes(event.size)}`, true);
        break;
      case 'layer-progress':
        draw(`layer ${event.index + 1} ${megabytes(event.bytes)} / ${megabytes(event.size)}`);
        break;
      case 'layer-done':
        draw(`layer ${event.index + 1} indexed: ${event.entries} entries`, true);
        break;
      case 'catalog-start':
        draw(`cataloging ${event.cataloger}…`, true);
        break;
      case 'catalog-done':
        draw(`${event.cataloger}: ${event.packages} packages`, true);
        break;
    }
  };
  return {
    listener,
    clear: () => {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
