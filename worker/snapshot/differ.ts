// The differ: what turns a committed snapshot into its layer, the tar of what it changed over its
// parent. A snapshotter supplies one (Snapshotter.differ), so nothing above it needs to know how
// the snapshotter keeps a snapshot's changes.
//
// Both snapshotters today keep a committed snapshot's own changes as an overlay upper dir (see
// snapshot-store.ts), so they share `createUpperDirDiffer`, which tars that dir with the whiteouts
// in OCI form (worker/layer/layer-tar.ts). A snapshotter that keeps only whole trees would instead
// compare two views, its parent's and its own (as containerd's walking differ does, or tree-diff.ts).
import type { Readable } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { createLayerTar, layerTarReusingChunks, type TarReuseOptions } from '../layer/layer-tar.ts';
import type { SnapshotStore } from './snapshot-store.ts';

export interface LayerTarOptions extends TarReuseOptions {
  /** Called once per tar entry, so a caller learns whether the layer is empty. */
  onEntry?: () => void;
}

/** The tar as a readable stream (pipe it, iterate it, or destroy it). */
export type LayerTarStream = Readable;

export interface Differ {
  /**
   * The layer of the committed snapshot `name`: an uncompressed tar of what it changed over its
   * parent, deletions as `.wh.` entries, entries sorted, so the same snapshot always gives the same
   * bytes whichever snapshotter made it. The walk keeps pace with the reader; destroying the stream
   * stops it. STATE_ERROR not-found when `name` is not committed (an active key has no layer yet).
   */
  layerTar(name: string, opts?: LayerTarOptions): LayerTarStream;
  /**
   * The same bytes as chunks that reuse their memory: the reader must be done with a chunk before it
   * asks for the next (ContentStore.putStream is). Stops with the signal's reason when it aborts.
   */
  layerTarChunks(name: string, opts?: LayerTarOptions & { signal?: AbortSignal }): AsyncIterable<Buffer>;
}

/** The differ of snapshotters that store a committed snapshot's changes as an overlay upper dir. */
export function createUpperDirDiffer(store: SnapshotStore): Differ {
  return {
    layerTar(name, opts) {
      return createLayerTar(committedDiffDir(store, name), opts?.onEntry, opts);
    },
    layerTarChunks(name, opts) {
      return layerTarReusingChunks(committedDiffDir(store, name), opts?.onEntry, opts);
    },
  };
}

function committedDiffDir(store: SnapshotStore, name: string): string {
  if (!store.exists(name)) throw new TsbuildError(`snapshot ${name} is not committed: it has no layer`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
  return store.diffDir(name);
}
