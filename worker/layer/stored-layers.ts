// A stored image's layer blob in another compression, without opening the worker: `tsbuild push`
// of a built image sends gzip blobs (as docker push does) while the local store keeps the
// uncompressed tar. The blob rows of the snapshot whose diff the blob holds (snapshot_blobs) give
// the blob of each compression; a compression not made yet is made from a stored blob of the diff
// (the image's own blob is one: its tag holds it) and recorded, so the next push, export or
// `build --push` reuses it. Nothing here tars a snapshot, so neither recovery, the snapshotter nor
// the sandbox is needed: a re-push costs a few database reads and stats.
import type { ContentStore } from '../../src/content/index.ts';
import { statePaths, type Database } from '../../src/state/index.ts';
import { createSnapshotStore } from '../snapshot/snapshot-store.ts';
import type { Worker } from '../types.ts';
import { layerBlob, type LayerEnv } from './layer-blob.ts';

export function openStoredLayers(opts: { root: string; db: Database; content: ContentStore }): Pick<Worker, 'layerOfBlob'> {
  const env: LayerEnv = { content: opts.content, snapshotStore: createSnapshotStore({ snapshotsDir: statePaths(opts.root).snapshots, db: opts.db }) };
  return {
    layerOfBlob: async (digest, o) => {
      const id = env.snapshotStore.meta.snapshotOf(digest);
      return id === undefined ? undefined : layerBlob(env, id, { compression: o?.compression ?? 'gzip', level: o?.level, reuse: o?.reuse ?? 'exact', tap: o?.tap }, o?.signal);
    },
  };
}
