// Removing a step's scratch (its bundle dir, overlay's work dir, the mount targets the runtime made
// in the upper dir) off the step's path. Freeing a file's or directory's blocks can wait on the disk:
// on ext4 mounted with `discard` and without a journal (this project's CI machines) every freed
// block is discarded synchronously, and after the step's unmount has synced the upper filesystem
// everything the step made has blocks: an unlink measured ~2 ms, an rmdir 0.5-1 ms, a rename
// 0.06 ms (docs/runtime.md, stop 18). So what must leave a snapshot dir before its commit is
// renamed out of it (same filesystem: no block is freed), and the removal itself runs in the
// background, on libuv's threads, while the next steps run.
//
// Everything lives below the worker's tmp dir, which start-up recovery empties, so a kill -9
// before a removal ends leaves nothing that outlives the next start (worker/recover.ts).
import { mkdtempSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

const pending = new Set<Promise<void>>();

/** Removes `path` (recursively, missing is fine) in the background; `removalsSettled` waits for it. */
export function removeLater(path: string): void {
  const p: Promise<void> = rm(path, { recursive: true, force: true })
    .catch(() => undefined)
    .finally(() => pending.delete(p));
  pending.add(p);
}

/** Paths moved out of their place at once, to be removed together in the background. */
export interface Trash {
  /**
   * Renames `path` into this trash (a dir below the tmp dir, same filesystem: no block is freed).
   * False when that failed: the caller removes it in place, as it would have.
   */
  take(path: string): boolean;
  /** Removes what was taken, in the background. */
  empty(): void;
}

export function createTrash(tmpDir: string): Trash {
  let dir: string | undefined;
  let n = 0;
  return {
    take(path) {
      try {
        dir ??= mkdtempSync(join(tmpDir, 'removing-'));
        renameSync(path, join(dir, String(n++)));
        return true;
      } catch {
        return false;
      }
    },
    empty() {
      if (dir !== undefined) removeLater(dir);
      dir = undefined;
    },
  };
}

/** Resolves once every removal started so far has ended (a worker's close waits for them). */
export async function removalsSettled(): Promise<void> {
  while (pending.size > 0) await Promise.all(pending);
}
