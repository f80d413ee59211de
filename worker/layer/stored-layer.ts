// What a snapshot's diff is as blobs: the rows recorded per compression (worker/snapshot/
// snapshot-metadata.ts) whose blob is still in the content store. They outlive the snapshot, so a
// cache entry whose snapshot GC removed is unpacked again from them (worker.unpackLayers).
import { existsSync } from 'node:fs';
import type { LayerRecord } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';

export function storedLayer(env: WorkerEnv, id: string): LayerRecord | undefined {
  const recorded = Object.values(env.snapshotStore.meta.blobs(id));
  // a stat per blob, synchronously: the planner asks while it walks the graph
  const stored = recorded.filter((b) => existsSync(env.content.path(b.digest)));
  if (stored.length === 0) return undefined;
  const { diffId, empty } = stored[0];
  // blobs of one diff share its diffId (layer-blob.ts recompresses rather than re-tars); one that
  // does not is not this diff's
  const blobs = stored.filter((b) => b.diffId === diffId).map((b) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size }));
  return { diffId, empty, blobs };
}
