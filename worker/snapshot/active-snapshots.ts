// The active snapshots and views of one snapshotter instance (they never outlive the process:
// recovery removes what a killed one left, see worker/recover.ts).
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createTrash } from './background-removal.ts';
import { diskUsage, type SnapshotStore } from './snapshot-store.ts';
import type { SnapshotInfo, Snapshotter } from './snapshotter.ts';

export interface Active {
  key: string;
  parent: string | undefined;
  view: boolean;
  created: number;
  /** Everything of this active snapshot lives below this directory. */
  dir: string;
}

export function createActiveSnapshots() {
  const actives = new Map<string, Active>();
  return {
    add(a: Omit<Active, 'created'>): Active {
      if (actives.has(a.key)) throw new TsbuildError(`snapshot key ${a.key} is already in use`, { code: ErrorCodes.STATE_ERROR, kind: 'exists' });
      const full = { ...a, created: Date.now() };
      actives.set(a.key, full);
      return full;
    },
    get: (key: string) => actives.get(key),
    /** The active snapshot `key` that may be committed; STATE_ERROR otherwise. */
    committable(key: string): Active {
      const a = actives.get(key);
      if (!a) throw new TsbuildError(`snapshot ${key} is not an active snapshot`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
      if (a.view) throw new TsbuildError(`snapshot ${key} is a view and cannot be committed`, { code: ErrorCodes.STATE_ERROR, kind: 'precondition' });
      return a;
    },
    delete: (key: string) => actives.delete(key),
    infos: (): SnapshotInfo[] => [...actives.values()].map((a) => ({ name: a.key, parent: a.parent, kind: 'active', created: a.created })),
  };
}

export type ActiveSnapshots = ReturnType<typeof createActiveSnapshots>;

/** What every snapshotter answers alike from its actives and the committed store. */
export function storeQueries(store: SnapshotStore, actives: ActiveSnapshots): Pick<Snapshotter, 'importDiff' | 'remove' | 'stat' | 'exists' | 'chain' | 'usage' | 'walk'> {
  return {
    async importDiff(name, parent, dir) {
      if (parent !== undefined && !store.info(parent)) throw new TsbuildError(`snapshot ${parent} is not committed`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
      await store.importDir(name, parent, dir);
    },
    async remove(key) {
      const a = actives.get(key);
      actives.delete(key);
      if (a?.view) await throwAway(a.dir);
      else if (a) await rm(a.dir, { recursive: true, force: true });
      else await store.remove(key);
    },
    stat: (key) => {
      const a = actives.get(key);
      return a ? { name: key, parent: a.parent, kind: 'active', created: a.created } : store.info(key);
    },
    exists: (name) => store.exists(name),
    chain: (name) => store.chain(name),
    // a committed snapshot: its diff and what is kept beside it (a COPY's manifest, its tar's index)
    usage: async (key) => diskUsage(actives.get(key)?.dir ?? store.dir(key)),
    walk: () => [...store.walk(), ...actives.infos()],
  };
}

/**
 * A view's dir (below the tmp dir, which start-up recovery empties; never committed) moved out of
 * its place at once and removed in the background, off the step's path: an `rm` through libuv's
 * threads waits behind the background removals of the steps before (docs/runtime.md, stop 20). A
 * read-only overlay view made no dir at all. Removed in place as before when it cannot be moved (a
 * mount still on it).
 */
async function throwAway(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const trash = createTrash(dirname(dir));
  if (trash.take(dir)) trash.empty();
  else await rm(dir, { recursive: true, force: true });
}
