// The snapshot lifecycle every op repeats, written once: prepare a new active snapshot, let the op
// write through it, then commit it as the result, or remove it when anything failed or the build
// was cancelled. Views (a throwaway look at a snapshot) get the same for their removal.
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { Mount } from './mount.ts';
import { newSnapshotKey, type Snapshotter } from './snapshotter.ts';

export interface ActiveSnapshotOptions {
  /** Aborted before the commit: nothing is committed, the active snapshot is removed, CANCELLED is thrown. */
  signal?: AbortSignal;
}

/**
 * Prepares a new active snapshot on `parent` (undefined: the empty filesystem), runs `fn` with its
 * key and mounts (data: `fn` mounts them where it needs, and must have unmounted them when it
 * returns), and commits the snapshot under its key when `fn` resolves. Returns that name.
 *
 * When `prepare`, `fn` or the commit fails, or `signal` is aborted before the commit, the active
 * snapshot is removed (its files and its mounts' dirs with it) and the error is rethrown: a failed
 * or cancelled step leaves no active snapshot behind.
 *
 *   const name = await withActiveSnapshot(env.snapshots, parent, (key, mounts) =>
 *     withMounts(mounts, rootfs, async (dir) => writeFileSync(join(dir, 'hello'), 'hi')));
 */
export async function withActiveSnapshot(
  snapshots: Snapshotter,
  parent: string | undefined,
  fn: (key: string, mounts: Mount[]) => Promise<void>,
  opts: ActiveSnapshotOptions = {},
): Promise<string> {
  const { signal } = opts;
  throwIfCancelled(signal);
  const key = newSnapshotKey();
  try {
    await fn(key, await snapshots.prepare(key, parent));
    throwIfCancelled(signal);
    await snapshots.commit(key, key);
    return key;
  } catch (e) {
    await removeQuietly(snapshots, key);
    throw e;
  }
}

/**
 * Creates a view of `parent` (read-only when asked), runs `fn` with its key and mounts, and always
 * removes the view afterwards: a view's changes are never kept. Returns what `fn` returns.
 */
export async function withView<T>(
  snapshots: Snapshotter,
  parent: string | undefined,
  opts: { readonly?: boolean },
  fn: (key: string, mounts: Mount[]) => Promise<T>,
): Promise<T> {
  const key = newSnapshotKey();
  try {
    return await fn(key, await snapshots.view(key, parent, opts));
  } finally {
    await snapshots.remove(key);
  }
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TsbuildError('the step was cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
}

/**
 * Removal after a failure must not hide the failure: a remove that fails too (a busy mount) leaves
 * a dir without a record, which start-up recovery removes (worker/recover.ts).
 */
async function removeQuietly(snapshots: Snapshotter, key: string): Promise<void> {
  await snapshots.remove(key).catch(() => undefined);
}
