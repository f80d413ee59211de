// Snapshots on overlayfs: an active snapshot is an upper dir over its parent chain's diff dirs
// stacked as lowerdirs, so committing it is keeping the upper dir (see snapshot-store.ts).
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createActiveSnapshots, storeQueries } from './active-snapshots.ts';
import { createUpperDirDiffer } from './differ.ts';
import { createTrash } from './background-removal.ts';
import type { Mount } from './mount.ts';
import type { SnapshotStore } from './snapshot-store.ts';
import type { Snapshotter } from './snapshotter.ts';

/** Options every overlay mount of ours gets. */
// redirect_dir/index/metacopy off: renames copy up whole directories and every change sits in the
// upper dir as plain files, which is what makes the upper dir a complete layer diff.
export const overlayOptions = ['redirect_dir=off', 'index=off', 'metacopy=off'];

export function createOverlaySnapshotter(opts: { store: SnapshotStore; tmpDir: string }): Snapshotter {
  const { store, tmpDir } = opts;
  const actives = createActiveSnapshots();
  const emptyLower = join(store.snapshotsDir, '.empty');

  const overlay = (parent: string | undefined, upper: string, work: string): Mount[] => {
    mkdirSync(emptyLower, { recursive: true });
    const lowers = parent === undefined ? [emptyLower] : store.chain(parent).reverse().map(store.diffDir);
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`, ...overlayOptions] }];
  };

  return {
    name: 'overlay',
    differ: createUpperDirDiffer(store),
    async prepare(key, parent) {
      const a = actives.add({ key, parent, view: false, dir: store.dir(key) });
      try {
        // made at once: two small dirs are cheaper than two round trips through libuv's threads
        mkdirSync(join(a.dir, 'fs'), { recursive: true });
        mkdirSync(join(a.dir, 'work'), { recursive: true });
        return overlay(parent, join(a.dir, 'fs'), join(a.dir, 'work'));
      } catch (e) {
        actives.delete(key);
        await rm(a.dir, { recursive: true, force: true });
        throw e;
      }
    },
    async view(key, parent, o) {
      const a = actives.add({ key, parent, view: true, dir: join(tmpDir, `view-${key}`) });
      try {
        if (o?.readonly && parent !== undefined) {
          // read-only: the chain's diff dirs alone, no upper and work dir to make and remove, and an
          // unmount with nothing to sync (overlayfs wants two lowerdirs without an upper: the empty
          // one goes at the bottom, below the root dir every layer has)
          mkdirSync(emptyLower, { recursive: true });
          const lowers = [...store.chain(parent).reverse().map(store.diffDir), emptyLower];
          return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, ...overlayOptions, 'ro'] }];
        }
        mkdirSync(join(a.dir, 'upper'), { recursive: true });
        mkdirSync(join(a.dir, 'work'), { recursive: true });
        const mounts = overlay(parent, join(a.dir, 'upper'), join(a.dir, 'work'));
        // a view is thrown away, never committed: its unmount need not sync the whole upper
        // filesystem (every process's dirty data on it), which is what overlayfs does otherwise
        mounts[0].options.push('volatile');
        if (o?.readonly) mounts[0].options.push('ro');
        return mounts;
      } catch (e) {
        actives.delete(key);
        await rm(a.dir, { recursive: true, force: true });
        throw e;
      }
    },
    activeDir(key) {
      const a = actives.get(key);
      return { dir: a?.view ? join(a.dir, 'upper') : join(store.dir(key), 'fs'), form: 'diff' };
    },
    async commit(name, key) {
      const a = actives.committable(key);
      // overlay's workdir is scratch space only useful while mounted; moved out at once, removed in
      // the background (freeing its blocks can wait on the disk: ./background-removal.ts)
      const trash = createTrash(tmpDir);
      if (!trash.take(join(a.dir, 'work'))) await rm(join(a.dir, 'work'), { recursive: true, force: true }).catch(() => undefined);
      trash.empty();
      if (name !== key) await store.importDir(name, a.parent, a.dir);
      else store.meta.add(name, a.parent);
      actives.delete(key);
    },
    ...storeQueries(store, actives),
  };
}

