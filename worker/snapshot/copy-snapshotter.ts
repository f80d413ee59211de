// Snapshots by copying, for hosts where overlayfs cannot be mounted (overlay on overlay, some
// rootless setups). An active snapshot is a whole copy of its parent's tree, bind-mounted; commit
// writes what changed as a diff dir (tree-diff.ts), stored as the overlay snapshotter stores it.
// A committed snapshot also keeps its whole tree (`<snapshots>/<name>/tree`) for children to copy;
// one unpacked from an image gets it on first use, from the nearest ancestor's tree and the diffs
// above it (tree-apply.ts). Costs: a full copy per step (a clone on btrfs/xfs) and a tree per step.
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { createActiveSnapshots, storeQueries } from './active-snapshots.ts';
import { createUpperDirDiffer } from './differ.ts';
import type { Mount } from './mount.ts';
import type { SnapshotStore } from './snapshot-store.ts';
import type { Snapshotter } from './snapshotter.ts';
import { applyDiff } from './tree-apply.ts';
import { copyTree } from './tree-copy.ts';
import { diffTrees } from './tree-diff.ts';

export function createCopySnapshotter(opts: { store: SnapshotStore; tmpDir: string }): Snapshotter {
  const { store, tmpDir } = opts;
  const actives = createActiveSnapshots();
  const shared = storeQueries(store, actives);
  const since = new Map<string, bigint>();
  const building = new Map<string, Promise<string>>();
  const treeOf = (name: string) => join(store.dir(name), 'tree');

  /** The whole tree of committed `name`, built first when missing. */
  const ensureTree = (name: string): Promise<string> => {
    // an active snapshot has a tree at the same place: it is no parent until committed
    if (!store.info(name)) return Promise.reject(notCommitted(name));
    const done = treeOf(name);
    if (existsSync(done)) return Promise.resolve(done);
    let p = building.get(name);
    if (!p) {
      p = buildTree(name).finally(() => building.delete(name));
      building.set(name, p);
    }
    return p;
  };
  const buildTree = async (name: string): Promise<string> => {
    const chain = store.chain(name);
    let from = chain.length - 1;
    while (from >= 0 && !existsSync(treeOf(chain[from]))) from--;
    const work = await mkdtemp(join(tmpDir, 'tree-'));
    try {
      const tree = join(work, 'tree');
      await mkdir(tree);
      if (from >= 0) await copyTree(treeOf(chain[from]), tree);
      for (const layer of chain.slice(from + 1)) await applyDiff(store.diffDir(layer), tree);
      try {
        await rename(tree, treeOf(name));
      } catch (e) {
        // another build made it meanwhile, from the same diffs
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      }
      return treeOf(name);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
  /** A copy of `parent`'s tree at `dir/tree`, bind-mountable. */
  const copyOf = async (key: string, parent: string | undefined, dir: string): Promise<Mount[]> => {
    const tree = join(dir, 'tree');
    try {
      await mkdir(tree, { recursive: true });
      if (parent !== undefined) await copyTree(await ensureTree(parent), tree);
      since.set(key, await tickPast(dir));
      return [{ type: 'bind', source: tree, options: ['rbind'] }];
    } catch (e) {
      actives.delete(key);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  };

  return {
    name: 'copy',
    differ: createUpperDirDiffer(store),
    async prepare(key, parent) {
      const a = actives.add({ key, parent, view: false, dir: store.dir(key) });
      return copyOf(key, parent, a.dir);
    },
    async view(key, parent, o) {
      const a = actives.add({ key, parent, view: true, dir: join(tmpDir, `view-${key}`) });
      if (!o?.readonly) return copyOf(key, parent, a.dir);
      try {
        // the stored tree itself, bound read-only: nothing to copy for a look
        let source = join(a.dir, 'empty');
        if (parent === undefined) await mkdir(source, { recursive: true });
        else source = await ensureTree(parent);
        return [{ type: 'bind', source, options: ['rbind', 'ro'] }];
      } catch (e) {
        actives.delete(key);
        await rm(a.dir, { recursive: true, force: true });
        throw e;
      }
    },
    activeDir: (key) => ({ dir: join(actives.get(key)?.dir ?? store.dir(key), 'tree'), form: 'tree' }),
    async commit(name, key) {
      const a = actives.committable(key);
      const out = join(a.dir, 'fs');
      await rm(out, { recursive: true, force: true });
      await mkdir(out);
      await diffTrees({ lower: a.parent === undefined ? undefined : await ensureTree(a.parent), upper: join(a.dir, 'tree'), since: since.get(key) ?? 0n, out });
      await rm(join(a.dir, 'copied'), { force: true });
      if (name !== key) await store.importDir(name, a.parent, a.dir);
      else store.meta.add(name, a.parent);
      actives.delete(key);
      since.delete(key);
    },
    ...shared,
    async remove(key) {
      since.delete(key);
      await shared.remove(key);
    },
  };
}

/**
 * The ctime the filesystem stamps right after a copy into `dir`, returned once its clock has moved
 * past it: then any later change to the copy gets a later ctime. The kernel stamps ctime from a
 * coarse clock (one tick is 1-10 ms), so this waits a tick or two.
 */
async function tickPast(dir: string): Promise<bigint> {
  const marker = join(dir, 'copied');
  writeFileSync(marker, '');
  const stamp = statSync(marker, { bigint: true }).ctimeNs;
  for (let i = 0; i < 1000; i++) {
    await sleep(2);
    chmodSync(marker, i % 2 === 0 ? 0o600 : 0o644);
    if (statSync(marker, { bigint: true }).ctimeNs > stamp) break;
  }
  return stamp;
}

function notCommitted(name: string): TsbuildError {
  return new TsbuildError(`snapshot ${name} is not committed`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
}
