// The snapshotter contract, shared by the overlay snapshotter and the copying one.
import { randomBytes } from 'node:crypto';
import type { Differ } from './differ.ts';
import type { Mount } from './mount.ts';

/** What is known of one snapshot. */
export interface SnapshotInfo {
  name: string;
  /** The committed snapshot below it; undefined: it sits on the empty filesystem. */
  parent: string | undefined;
  /** `active` (prepared or a view, writable, not yet a result) or `committed` (immutable). */
  kind: 'active' | 'committed';
  /** ms since the epoch. */
  created: number;
}

/** Disk use of one snapshot's own files (its diff), as `du` would count them. */
export interface SnapshotUsage {
  size: number;
  inodes: number;
}

/**
 * Snapshots are filesystem layers. A committed snapshot (a *name*) is immutable and has a parent; its
 * chain from the bottom up is a whole filesystem. An active snapshot (a *key*) is writable and lives
 * only until it is committed or removed.
 *
 * Lifecycle: `prepare(key, parent)` creates the active snapshot `key` showing `parent`'s filesystem
 * and returns the mounts that show it writable (data: the caller mounts them, see mount.ts). The
 * caller mounts, changes files, unmounts, then either `commit(name, key)` turns the changes into the
 * committed snapshot `name` (the active key is gone afterwards), or `remove(key)` throws them away.
 * `view(key, parent)` is the same for a throwaway look at `parent` (writable unless asked read-only):
 * it can only be removed.
 * Every snapshotter stores a committed snapshot's own files the same way (an overlay upper dir, see
 * snapshot-store.ts), so layers come out the same whichever made them, and a root may switch.
 *
 *   const key = newSnapshotKey();
 *   const mounts = await snapshots.prepare(key, base);
 *   try {
 *     await withMounts(mounts, dir, async (rootfs) => writeFileSync(join(rootfs, 'hello'), 'hi'));
 *     await snapshots.commit(key, key);          // now `key` names a committed snapshot on `base`
 *   } catch (e) {
 *     await snapshots.remove(key);
 *     throw e;
 *   }
 *   const layer = snapshots.differ.layerTar(key); // its layer: what it changed over `base`
 *
 * Ops do not write that dance themselves: withActiveSnapshot (with-active-snapshot.ts) does it, and
 * also removes the snapshot when the build is cancelled; withView does it for views.
 *
 * Errors: STATE_ERROR with kind `not-found` for a parent that is not committed, `exists` for a key in
 * use, `unavailable` when the host cannot do what is asked (a copy or mount failing).
 */
export interface Snapshotter {
  /** `overlay` or `copy`. */
  readonly name: SnapshotterName;
  /** Creates the active snapshot `key` on `parent` (undefined: empty) and returns the mounts of its writable view. */
  prepare(key: string, parent: string | undefined): Promise<Mount[]>;
  /**
   * Like prepare, for a look at `parent` whose changes can never be committed; end it with `remove(key)`.
   * `readonly`: the mounts refuse writes, and the copying snapshotter shows its stored tree instead of a copy.
   */
  view(key: string, parent: string | undefined, opts?: { readonly?: boolean }): Promise<Mount[]>;
  /**
   * Where an active snapshot's files can be written without mounting, and in what form: `diff` (only
   * what changes, overlay upper-dir form) or `tree` (the whole filesystem). A download or a checkout
   * on an empty parent writes here; so does cleaning up what the runtime made in the rootfs.
   */
  activeDir(key: string): { dir: string; form: 'diff' | 'tree' };
  /** Commits the active snapshot `key` (unmounted) as `name`. Committing a name that exists already is success. */
  commit(name: string, key: string): Promise<void>;
  /**
   * Commits a diff made without a mount (an image layer unpacked in overlay upper-dir form, see
   * snapshot-store.ts) as `name` on `parent`: `dir` holds the diff as `dir/fs` and is moved into place,
   * so it must be on the snapshots' filesystem (the root's tmp dir is). Committing a name that exists
   * already is success, and `dir` is removed. STATE_ERROR not-found when `parent` is not committed.
   */
  importDiff(name: string, parent: string | undefined, dir: string): Promise<void>;
  /** Removes an active snapshot, a view, or a committed snapshot (files and record). Missing is fine. */
  remove(key: string): Promise<void>;
  /** The snapshot, active or committed, or undefined. */
  stat(key: string): SnapshotInfo | undefined;
  /** Whether `name` is committed and its files are on disk. */
  exists(name: string): boolean;
  /** Names from the bottom layer up to `name`; STATE_ERROR not-found when `name` is not committed. */
  chain(name: string): string[];
  /** Disk use of the snapshot's own files. */
  usage(key: string): Promise<SnapshotUsage>;
  /** Every committed snapshot, then every active one of this process. */
  walk(): SnapshotInfo[];
  /** Makes the layer tar of a committed snapshot (differ.ts). */
  readonly differ: Differ;
}

export type SnapshotterName = 'overlay' | 'copy';

/** A fresh key for an active snapshot (hex, as recovery expects of snapshot dir names). */
export function newSnapshotKey(): string {
  return randomBytes(16).toString('hex');
}
