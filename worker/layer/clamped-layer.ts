// A snapshot's layer with its file times clamped to SOURCE_DATE_EPOCH (clamp-times.ts): another
// tar, so another diffId, and its own blobs per compression. They are recorded like a snapshot's
// blobs (snapshot_blobs), under a name of their own, `clamped/EPOCH/DIFFID` (the original diffId):
// a later build with the same epoch takes them (a no-change rebuild tars and clamps nothing), each
// compression is made from the clamped tar by layerBlob as for any diff, and a push or save of the
// stored image finds the clamped blob's row by its digest (worker.layerOfBlob) as for a built layer.
// The snapshot's own rows keep the unclamped tar: the cache and its exports are not affected.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { MediaTypes, type LayerBlob } from '../../src/image/index.ts';
import { createTimeClamp } from './clamp-times.ts';
import { compressionOf, decompressed, layerBlob, type LayerEnv, type LayerRequest } from './layer-blob.ts';

/** The snapshot_blobs name the clamped blobs of diff `diffId` are recorded under. */
export function clampedLayerName(epoch: number, diffId: string): string {
  return `clamped/${epoch}/${diffId}`;
}

/** A GLOB matching the names of every clamped layer of diff `diffId`, whatever the epoch (../storage.ts: du and prune count them with the snapshot). */
export function clampedLayersGlob(diffId: string): string {
  return `clamped/*/${diffId}`;
}

/**
 * The blob `req` asks for of snapshot `id`'s layer with times later than `epoch` clamped to it.
 * Made once per (diff, epoch): the clamped tar is stored uncompressed first (its digest is its
 * diffId), and every compression is made from it. With `signal`, an abort stores nothing.
 */
export async function clampedLayerBlob(env: LayerEnv, id: string, req: LayerRequest, epoch: number, signal?: AbortSignal): Promise<LayerBlob> {
  // the diff as stored (the local store's tar, made now if it is not stored yet)
  const original = await layerBlob(env, id, { compression: 'uncompressed', reuse: 'any' }, signal);
  const name = clampedLayerName(epoch, original.diffId);
  const { blobs } = env.snapshotStore.meta.blobs(name);
  const known = blobs.uncompressed as LayerBlob | undefined;
  if (!known || !(await env.content.has(known.digest))) {
    const clamped = await clampTar(env, original, epoch, signal);
    env.snapshotStore.meta.setBlob(name, undefined, 'uncompressed', clamped, { replace: true });
  }
  // a compression is made from the clamped tar (no snapshot: the name has no record), and recorded
  return layerBlob({ content: env.content, snapshotStore: env.snapshotStore }, name, { ...req, keepUncompressed: false }, signal);
}

/** Stores the clamped tar of `blob` uncompressed; removes its partial ingest file on failure or abort. */
async function clampTar(env: LayerEnv, blob: LayerBlob, epoch: number, signal?: AbortSignal): Promise<LayerBlob> {
  const input = await decompressed(env, blob);
  const clamp = createTimeClamp(epoch);
  // the original's diffId, checked as it flows when the blob is compressed (content.open checks only the stored bytes)
  const check = compressionOf(blob.mediaType) === 'uncompressed' ? undefined : createHash('sha256');
  const stages: (Readable | Transform)[] = [input];
  if (check) stages.push(new Transform({ transform: (c: Buffer, _e, cb) => cb(null, check.update(c) && c) }));
  // allSettled: on an abort the store must have removed its partial ingest file before we return
  const [stored, piped] = await Promise.allSettled([env.content.putStream(clamp), pipeStages([...stages, clamp], { signal })]);
  signal?.throwIfAborted();
  if (piped.status === 'rejected') throw piped.reason;
  if (stored.status === 'rejected') throw stored.reason;
  if (check && `sha256:${check.digest('hex')}` !== blob.diffId) {
    throw new TsbuildError(`layer blob ${blob.digest} does not hold the tar ${blob.diffId} its record names`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
  }
  return { diffId: stored.value.digest, digest: stored.value.digest, size: stored.value.size, mediaType: MediaTypes.ociLayer, empty: blob.empty };
}

// pipeline's typings have no overload for an array of streams
const pipeStages = pipeline as unknown as (streams: readonly unknown[], opts: { signal?: AbortSignal }) => Promise<void>;

