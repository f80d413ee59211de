// Snapshots on overlayfs. A snapshot is one directory of a layer's own files in overlay upperdir
// format (`<root>/snapshots/<id>/fs`, whiteouts as char 0/0 devices, opaque dirs by xattr), plus a
// parent; a chain of them stacked as lowerdirs is a whole filesystem.
//
// Lifecycle: `prepare(key, parent)` creates an *active* snapshot and returns the mounts of its
// writable view; the caller mounts them, changes files, unmounts, then `commit(key, parent)` records
// it (a row in `snapshots`) so it becomes a committed, immutable *name*; or `remove(key)` drops it.
//
//   const mounts = await snapshots.prepare(id, parentId);
//   await withMounts(mounts, dir, async (rootfs) => { ...write... });
//   snapshots.commit(id, parentId);
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { Database } from '../../src/state/index.ts';
import type { Mount } from './mount.ts';

export interface SnapshotRow {
  id: string;
  parent: string | null;
  diff_id: string | null;
  blob_digest: string | null;
  blob_size: number | null;
  blob_media_type: string | null;
  empty: number;
  created: number;
}

/** A writable throwaway view: its upper dir lives in tmp and goes away with `release`. */
export interface View {
  mounts: Mount[];
  release(): Promise<void>;
}

export interface Snapshotter {
  /** Creates the active snapshot `key` on `parent` (undefined: empty) and returns its writable overlay mount. */
  prepare(key: string, parent: string | undefined): Promise<Mount[]>;
  /** A writable view of `parent`'s chain whose changes are thrown away on release. */
  view(parent: string | undefined): Promise<View>;
  /** Records the active snapshot `key` as committed on `parent`. Idempotent. */
  commit(key: string, parent: string | undefined): void;
  /** Removes an active or committed snapshot's files and row. Missing is fine. */
  remove(key: string): Promise<void>;
  /** Ids from the bottom layer to `id`; throws when `id` is not committed. */
  chain(id: string): string[];
  exists(id: string): boolean;
  row(id: string): SnapshotRow | undefined;
  /** The directory holding this snapshot's own files. */
  fsDir(id: string): string;
  newKey(): string;
}

export function createOverlaySnapshotter(opts: { snapshotsDir: string; tmpDir: string; db: Database }): Snapshotter {
  const { snapshotsDir, tmpDir, db } = opts;
  const emptyLower = join(snapshotsDir, '.empty');
  const fsDir = (id: string) => join(snapshotsDir, id, 'fs');
  const getRow = db.prepare('SELECT * FROM snapshots WHERE id = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO snapshots (id, parent, created) VALUES (?, ?, ?)');
  const del = db.prepare('DELETE FROM snapshots WHERE id = ?');

  const row = (id: string) => getRow.get(id) as SnapshotRow | undefined;

  const chain = (id: string): string[] => {
    const ids: string[] = [];
    for (let cur: string | null = id; cur !== null; ) {
      const r = row(cur);
      if (!r) throw new TsbuildError(`snapshot ${cur} is not committed`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
      ids.push(cur);
      cur = r.parent;
    }
    return ids.reverse();
  };

  const overlay = (parent: string | undefined, upper: string, work: string): Mount[] => {
    mkdirSync(emptyLower, { recursive: true });
    const lowers = parent === undefined ? [emptyLower] : chain(parent).reverse().map(fsDir);
    // redirect_dir/index/metacopy off: renames copy up whole directories and every change sits in
    // the upper dir as plain files, which is what makes the upper dir a complete layer diff.
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`, 'redirect_dir=off', 'index=off', 'metacopy=off'] }];
  };

  return {
    newKey: () => randomBytes(16).toString('hex'),
    fsDir,
    row,
    chain,
    exists: (id) => row(id) !== undefined && existsSync(fsDir(id)),
    async prepare(key, parent) {
      const dir = join(snapshotsDir, key);
      await mkdir(join(dir, 'fs'), { recursive: true });
      await mkdir(join(dir, 'work'), { recursive: true });
      return overlay(parent, join(dir, 'fs'), join(dir, 'work'));
    },
    async view(parent) {
      const dir = join(tmpDir, `view-${randomBytes(8).toString('hex')}`);
      await mkdir(join(dir, 'upper'), { recursive: true });
      await mkdir(join(dir, 'work'), { recursive: true });
      return { mounts: overlay(parent, join(dir, 'upper'), join(dir, 'work')), release: () => rm(dir, { recursive: true, force: true }) };
    },
    commit(key, parent) {
      // overlay's workdir is scratch space only useful while mounted
      rmSyncQuiet(join(snapshotsDir, key, 'work'));
      insert.run(key, parent ?? null, Date.now());
    },
    async remove(key) {
      del.run(key);
      await rm(join(snapshotsDir, key), { recursive: true, force: true });
    },
  };
}

function rmSyncQuiet(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch {
    // a leftover workdir wastes a few inodes, nothing more
  }
}
