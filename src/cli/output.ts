/** @module cli/output — writes command output to stdout or atomically to a file (temp name, then rename). */
import { randomBytes } from 'node:crypto';
import { lstat, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DistillError } from '../errors.js';

export async function writeOutput(text: string, file: string | undefined): Promise<void> {
  if (file === undefined || file === '-') {
    await new Promise<void>((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
    return;
  }
  try {
    // Devices, fifos and sockets (/dev/null, a named pipe) are written in place: renaming over them would
    // replace the device node with a regular file.
    const existing = await lstat(file).catch(() => undefined);
    if (existing !== undefined && !existing.isFile() && !existing.isSymbolicLink()) {
      await writeFile(file, text);
      return;
    }
  } catch (error) {
    throw new DistillError('IO', `cannot write ${file}: ${(error as Error).message}`, { hint: 'check that the file is writable', cause: error });
  }
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new DistillError('IO', `cannot write ${file}: ${(error as Error).message}`, { hint: 'check that the directory exists and is writable', cause: error });
  }
}
