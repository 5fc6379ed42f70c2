/** @module filesystem/symlinks — component-by-component symlink resolution confined to an image root. */
import type { FileEntry } from './file-entry.js';

/** Linux's limit on symlinks followed while resolving one path (MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

/** Components processed per resolution (input plus link targets); far above any real path, it bounds hostile ones. */
export const MAX_RESOLVE_COMPONENTS = 4096;

export type EntryLookup = (path: string) => FileEntry | undefined;

export type Resolution =
  /** `entry` is the entry at `path`; `missing` means some trailing components do not exist (path is lexical there). */
  | { ok: true; path: string; entry: FileEntry | undefined; missing: boolean }
  | { ok: false; reason: 'SYMLINK_LOOP' | 'NOT_A_DIRECTORY' | 'NAME_TOO_LONG' };

export interface ResolveOptions {
  /** Follow a symlink in the last component too (stat vs lstat semantics). Default true. */
  followFinal?: boolean;
  maxHops?: number;
}

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * Resolves `path` against a lookup of image entries. Absolute link targets restart at the image root and
 * `..` never climbs above it, so a link to `/../../etc/passwd` lands on the image's `/etc/passwd`. Missing
 * components are kept lexically (like securejoin) so callers can create them; a loop ends after `maxHops`.
 */
export function resolvePath(lookup: EntryLookup, path: string, options: ResolveOptions = {}): Resolution {
  const followFinal = options.followFinal ?? true;
  const maxHops = options.maxHops ?? MAX_SYMLINK_HOPS;
  // Pending components, stored reversed so the next component is pop()ed in O(1).
  const pending = split(path).reverse();
  // resolved[i] is the absolute path of the first i+1 resolved components, so no step re-joins the path.
  const resolved: string[] = [];
  const top = (): string => resolved[resolved.length - 1] ?? '/';
  let hops = 0;
  let steps = 0;
  let missing = false;
  let current: FileEntry | undefined = lookup('/');
  while (pending.length > 0) {
    if (++steps > MAX_RESOLVE_COMPONENTS) return { ok: false, reason: 'NAME_TOO_LONG' };
    const part = pending.pop() as string;
    if (part === '..') {
      resolved.pop();
      // Once we were below a missing component, going up may reach existing entries again.
      current = lookup(top());
      missing = current === undefined;
      continue;
    }
    if (!missing && current !== undefined && current.type !== 'dir') return { ok: false, reason: 'NOT_A_DIRECTORY' };
    const candidate = resolved.length === 0 ? '/' + part : top() + '/' + part;
    const entry = missing ? undefined : lookup(candidate);
    if (entry !== undefined && entry.type === 'symlink' && (pending.length > 0 || followFinal)) {
      hops += 1;
      if (hops > maxHops) return { ok: false, reason: 'SYMLINK_LOOP' };
      const target = entry.linkTarget ?? '';
      if (target.startsWith('/')) resolved.length = 0;
      const targetParts = split(target);
      if (pending.length + targetParts.length > MAX_RESOLVE_COMPONENTS) return { ok: false, reason: 'NAME_TOO_LONG' };
      for (let i = targetParts.length - 1; i >= 0; i--) pending.push(targetParts[i] as string);
      current = lookup(top());
      continue;
    }
    resolved.push(candidate);
    current = entry;
    if (entry === undefined) missing = true;
  }
  const finalPath = top();
  return { ok: true, path: finalPath, entry: missing ? undefined : lookup(finalPath), missing };
}
