// What du and prune (control/du.ts, control/prune.ts) ask of the worker about its snapshots: the
// committed ones with their parents, the layer blobs recorded for each diff (rows that outlive their
// snapshot, see snapshot-metadata.ts), and their removal. Removal drops the record before the files
// (snapshot-store.ts), so a kill -9 midway leaves a dir without a record, which recovery removes,
// and never a record whose files are half gone.
import type { WorkerEnv } from './worker-env.ts';

export interface StoredSnapshot {
  name: string;
  parent: string | undefined;
  /** ms since the epoch. */
  created: number;
}

export interface SnapshotLayerRows {
  /** The parent the rows name (also known once the snapshot itself is gone). */
  parent: string | undefined;
  /** The digests of the layer blobs recorded for its diff, one per compression. */
  digests: string[];
}

export interface WorkerStorage {
  /** Every committed snapshot. */
  snapshots(): StoredSnapshot[];
  /** The layer blob rows of `name`, whether or not the snapshot still exists. */
  layerRows(name: string): SnapshotLayerRows;
  /** Removes a committed snapshot: its record, then its files. Missing is fine. Remove children before parents. */
  removeSnapshot(name: string): Promise<void>;
  /** Drops the layer blob rows of `name` (once its blobs are deleted). */
  dropLayerRows(name: string): void;
  /** Bytes on disk of the snapshot's own files (its diff). */
  usage(name: string): Promise<number>;
}

export function createWorkerStorage(env: WorkerEnv): WorkerStorage {
  const meta = env.snapshotStore.meta;
  return {
    snapshots: () => meta.all(),
    layerRows(name) {
      const { parent, blobs } = meta.blobs(name);
      return { parent, digests: [...new Set(Object.values(blobs).map((b) => b.digest))] };
    },
    removeSnapshot: (name) => env.snapshotStore.remove(name),
    dropLayerRows: (name) => meta.deleteBlobs(name),
    usage: async (name) => (await env.snapshots.usage(name)).size,
  };
}
