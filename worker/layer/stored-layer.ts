// What a snapshot chain is as blobs: for each snapshot from the bottom up, the rows recorded per
// compression (worker/snapshot/snapshot-metadata.ts) whose blob is still in the content store.
// The rows outlive the snapshots and name their parents, so a cache entry whose snapshots GC removed
// is unpacked again from them (worker.unpackLayers).
import { existsSync } from 'node:fs';
import type { LayerRecord } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';

/** The layers from the bottom to `id`; undefined when one of them has no stored blob. */
export function storedLayers(env: WorkerEnv, id: string): LayerRecord[] | undefined {
  const out: LayerRecord[] = [];
  const seen = new Set<string>();
  for (let cur: string | undefined = id; cur !== undefined; ) {
    // a loop in the rows is damage, not a chain: treated as unusable
    if (seen.has(cur)) return undefined;
    seen.add(cur);
    const { parent, blobs } = env.snapshotStore.meta.blobs(cur);
    // a stat per blob, synchronously: the planner asks while it walks the graph
    const stored = Object.values(blobs).filter((b) => existsSync(env.content.path(b.digest)));
    if (stored.length === 0) return undefined;
    const { diffId, empty } = stored[0];
    // blobs of one diff share its diffId (layer-blob.ts recompresses rather than re-tars); one that
    // does not is not this diff's
    out.push({ diffId, empty, blobs: stored.filter((b) => b.diffId === diffId).map((b) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size })) });
    cur = parent;
  }
  return out.reverse();
}
