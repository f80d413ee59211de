// What du and prune (control/du.ts, control/prune.ts) ask of the worker about its snapshots: the
// committed ones with their parents, the layer blobs recorded for each diff (rows that outlive their
// snapshot, see snapshot-metadata.ts), and their removal. Removal drops the record before the files
// (snapshot-store.ts), so a kill -9 midway leaves a dir without a record, which recovery removes,
// and never a record whose files are half gone.
import type { LayerBlob } from '../src/image/index.ts';
import { clampedLayersGlob } from './layer/clamped-layer.ts';
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
  /**
   * The digests of the blobs made from its diff with file times clamped (SOURCE_DATE_EPOCH,
   * layer/clamped-layer.ts): what an image built with the epoch names instead of `digests`. They
   * belong to the diff as its own blobs do (held, counted and pruned with it), but only `digests`
   * can unpack it again.
   */
  derived: string[];
}

export interface WorkerStorage {
  /** Every committed snapshot. */
  snapshots(): StoredSnapshot[];
  /** The layer blob rows of `name`, whether or not the snapshot still exists. */
  layerRows(name: string): SnapshotLayerRows;
  /** Removes a committed snapshot: its record, then its files. Missing is fine. Remove children before parents. */
  removeSnapshot(name: string): Promise<void>;
  /** Drops the layer blob rows of `name` (once its blobs are deleted), its clamped layers' rows too. */
  dropLayerRows(name: string): void;
  /** Bytes on disk of the snapshot's own files (its diff). */
  usage(name: string): Promise<number>;
}

export function createWorkerStorage(env: WorkerEnv): WorkerStorage {
  const meta = env.snapshotStore.meta;
  // the rows of the clamped layers of the diff these blobs hold (each of a diff's blobs has its diffId)
  const clampedRows = (blobs: Record<string, LayerBlob>) => {
    const diffId = Object.values(blobs)[0]?.diffId;
    return diffId === undefined ? [] : meta.blobNamesLike(clampedLayersGlob(diffId));
  };
  return {
    snapshots: () => meta.all(),
    layerRows(name) {
      const { parent, blobs } = meta.blobs(name);
      return { parent, digests: [...new Set(Object.values(blobs).map((b) => b.digest))], derived: [...new Set(clampedRows(blobs).map((r) => r.digest))] };
    },
    removeSnapshot: (name) => env.snapshotStore.remove(name),
    dropLayerRows: (name) => {
      const clamped = new Set(clampedRows(meta.blobs(name).blobs).map((r) => r.name));
      meta.deleteBlobs(name);
      for (const n of clamped) meta.deleteBlobs(n);
    },
    usage: async (name) => (await env.snapshots.usage(name)).size,
  };
}
