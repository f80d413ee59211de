// worker.layer(id): a snapshot's own diff as a stored blob, recorded in the snapshot's record, one
// row per compression (and level), so later builds, exports and pushes reuse it (and an unpacked
// image layer keeps its original blob). The local image store takes the uncompressed tar (digest =
// diffId: tarred and hashed once, nothing compressed); outputs that leave the machine ask for a
// compression, which is made from a stored blob of the diff when there is one (the uncompressed one
// first: reading it back costs less than tarring the snapshot again), so every blob of a diff holds
// the same tar and has one diffId.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PassThrough, Transform, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdCompress, createZstdDecompress, constants as zlib } from 'node:zlib';
import { createParallelGzip } from '../../src/compression/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { MediaTypes, type LayerBlob } from '../../src/image/index.ts';
import type { BlobVariant, Compression } from '../snapshot/snapshot-metadata.ts';
import type { LayerReuse } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import type { Snapshotter } from '../snapshot/snapshotter.ts';
import { isKnockOn, teeStream } from './tee-stream.ts';
import { withTap } from './blob-tap.ts';
import { prepareTarReuse, type TarReuse } from './tar-reuse.ts';

export type { Compression };

const mediaTypes: Record<Compression, string> = { gzip: MediaTypes.ociLayerGzip, uncompressed: MediaTypes.ociLayer, zstd: MediaTypes.ociLayerZstd };

/** The level each codec uses when none is given: a blob made at it is recorded as plain `gzip`/`zstd`. */
// gzip 4, not zlib's 6: on the apt-heavy layer (656 MB of packages) level 6 costs 15 s of CPU for
// 178.6 MB, level 4 8.4 s for 185.8 MB (+4%); on text the sizes differ by under 0.1% (bench/README.md,
// "Stop 18 export"). `compression-level=6` still gives level 6.
export const defaultLevels = { gzip: 4, zstd: 3 } as const;

export function compressionOf(mediaType: string): Compression {
  if (mediaType.endsWith('gzip')) return 'gzip';
  if (mediaType.endsWith('zstd')) return 'zstd';
  return 'uncompressed';
}

export interface LayerRequest {
  compression: Compression;
  /** Ignored for uncompressed; undefined is the codec's default. */
  level?: number;
  reuse: LayerReuse;
  /**
   * When the blob is made from the snapshot (no stored blob of the diff yet), also store the
   * uncompressed tar, in the same walk: the local image store's blob and this one from one read of
   * the files and one hash of the tar (its digest is the diffId), not stored, read back and hashed again.
   */
  keepUncompressed?: boolean;
  /**
   * Called with a copy of the blob's bytes as they are stored, when the blob is made from a stored
   * blob of the diff now (a push uploads it meanwhile: blob-tap.ts); never when it was stored already.
   */
  tap?: (blob: Readable) => void;
}

/** The row key of a request: `gzip`, `zstd-19`, `uncompressed`. */
export function blobVariant(compression: Compression, level?: number): BlobVariant {
  if (compression === 'uncompressed' || level === undefined || level === defaultLevels[compression]) return compression;
  return `${compression}-${level}`;
}

/**
 * What layerBlob needs of the worker: the stores, and the snapshotter's differ for a blob made from
 * the snapshot itself. Without `snapshots` (a push of a stored image, worker/layer/stored-layers.ts)
 * a blob is made only from a stored blob of the diff.
 */
export type LayerEnv = Pick<WorkerEnv, 'content' | 'snapshotStore'> & { snapshots?: Pick<Snapshotter, 'differ'> };

/** The snapshotter's differ, or STATE_ERROR when `env` has none (no stored blob of the diff to make one from). */
function differOf(env: LayerEnv, id: string): Snapshotter['differ'] {
  if (env.snapshots) return env.snapshots.differ;
  throw new TsbuildError(`snapshot ${id}: none of its layer blobs is stored, and this command tars no snapshot`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
}

/** With `signal`, an abort stops the tar and compression under way and stores nothing. */
export async function layerBlob(env: LayerEnv, id: string, req: LayerRequest, signal?: AbortSignal): Promise<LayerBlob> {
  signal?.throwIfAborted();
  const record = env.snapshotStore.meta.get(id);
  const { parent, blobs } = env.snapshotStore.meta.blobs(id);
  // a snapshot GC removed still has its blob rows: a blob of its diff is made from a stored one
  if (!record && Object.keys(blobs).length === 0) throw new TsbuildError(`snapshot ${id} is not committed`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
  const variant = blobVariant(req.compression, req.level);
  const known = blobs[variant] as LayerBlob | undefined;
  const stored = storedBlobs(env, blobs);
  const exact = stored.find(([v]) => v === variant);
  if (exact) return { ...exact[1] };
  const reused = reusable(stored, req);
  if (reused) return { ...reused };
  const source = stored[0]?.[1];
  if (!record && !source) throw new TsbuildError(`snapshot ${id} is gone and none of its layer blobs is stored`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
  const info = !source && req.keepUncompressed && req.compression !== 'uncompressed'
    ? await makeBlobKeepingTar(env, id, req, { replace: blobs.uncompressed !== undefined, parent: record ? record.parent : parent }, signal)
    : await makeBlob(env, id, req, source, signal);
  // first writer wins (a row recorded by an unpack keeps the image's original blob), unless the
  // recorded blob is gone from the store (GC removed it): then this one replaces it
  env.snapshotStore.meta.setBlob(id, record ? record.parent : parent, variant, info, { replace: known !== undefined, derived: true });
  return info;
}

/** What `reuse` lets a request take instead of making its own blob. */
function reusable(stored: readonly [BlobVariant, LayerBlob][], req: LayerRequest): LayerBlob | undefined {
  if (stored.length === 0 || req.reuse === 'exact') return undefined;
  if (req.reuse === 'any') return stored[0][1];
  if (stored.some(([, b]) => compressionOf(b.mediaType) === 'uncompressed')) return undefined;
  // the same codec at another level before another codec
  return (stored.find(([, b]) => compressionOf(b.mediaType) === req.compression) ?? stored[0])[1];
}

/** `tarSize`: the input's size when known: a zstd frame then states it, so the blob says its tar's size (src/content/layer-size.ts). */
function compressor(req: LayerRequest, tarSize?: number): Transform | Duplex {
  // on every core, random chunks stored rather than deflated (src/compression/parallel-gzip.ts)
  if (req.compression === 'gzip') return createParallelGzip({ level: req.level ?? defaultLevels.gzip });
  if (req.compression === 'zstd') {
    return createZstdCompress({ ...(req.level === undefined ? {} : { params: { [zlib.ZSTD_c_compressionLevel]: req.level } }), ...(tarSize === undefined ? {} : { pledgedSrcSize: tarSize }) });
  }
  return new PassThrough();
}

/** Makes and stores the blob `req` asks for, from `source` (a stored blob of the diff) or the snapshot's tar. */
async function makeBlob(env: LayerEnv, id: string, req: LayerRequest, source: LayerBlob | undefined, signal?: AbortSignal): Promise<LayerBlob> {
  const mediaType = mediaTypes[req.compression];
  const fromRaw = source !== undefined && compressionOf(source.mediaType) === 'uncompressed';
  // the uncompressed blob's digest is the diffId, checked as it is read (content.open): no second hash
  const hashed = req.compression !== 'uncompressed' && !fromRaw;
  let entries = 0;
  const diffHash = createHash('sha256');
  // (the tar comes in 1 MiB chunks, layer-tar.ts: few round trips to the compressor's thread pool)
  const stages: Transform[] = [];
  if (hashed) {
    stages.push(
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          diffHash.update(chunk);
          cb(null, chunk);
        },
      }),
    );
  }
  if (!source && req.compression === 'uncompressed') {
    // the local layer: the tar straight into the store, in chunks that reuse their memory
    const differ = differOf(env, id);
    const blob = await withTarReuse(
      env,
      id,
      (reuse) => env.content.putStream(differ.layerTarChunks(id, { onEntry: () => entries++, signal, base: reuse?.base, index: reuse?.index })),
      (b) => b,
    );
    signal?.throwIfAborted();
    return { diffId: blob.digest, digest: blob.digest, size: blob.size, mediaType, empty: entries === 0 };
  }
  const out = compressor(req, fromRaw ? source.size : undefined);
  const input = source ? await decompressed(env, source) : differOf(env, id).layerTar(id, { onEntry: () => entries++ });
  // allSettled: on an abort the store must have removed its partial ingest file before we return
  const [stored, piped] = await Promise.allSettled([env.content.putStream(req.tap ? withTap(out, req.tap) : out), pipeStages([input, ...stages, out], { signal })]);
  signal?.throwIfAborted();
  if (piped.status === 'rejected') throw piped.reason;
  if (stored.status === 'rejected') throw stored.reason;
  const blob = stored.value;
  const diffId = hashed ? `sha256:${diffHash.digest('hex')}` : req.compression === 'uncompressed' ? blob.digest : source!.diffId;
  if (source && diffId !== source.diffId) {
    throw new TsbuildError(`layer blob ${source.digest} holds a tar with digest ${diffId}, its record says ${source.diffId}`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
  }
  return { diffId, digest: blob.digest, size: blob.size, mediaType, empty: source ? source.empty : entries === 0 };
}

/**
 * The blob `req` asks for and the uncompressed tar, both from one walk of the snapshot: the tar goes
 * to the store as it is (hashed there: that digest is the diffId) and through the compressor into
 * the store, at once. Records the uncompressed blob's row too (first writer wins, as layerBlob).
 */
async function makeBlobKeepingTar(env: LayerEnv, id: string, req: LayerRequest, row: { replace: boolean; parent: string | undefined }, signal?: AbortSignal): Promise<LayerBlob> {
  let entries = 0;
  const differ = differOf(env, id);
  const tee = teeStream();
  const out = compressor(req);
  // allSettled: on an abort or a failure every ingest file must be removed before we return
  const settled = await withTarReuse(env, id, (reuse) =>
    Promise.allSettled([
      env.content.putStream(tee.sides[0]),
      env.content.putStream(out),
      pipeStages([differ.layerTar(id, { onEntry: () => entries++, base: reuse?.base, index: reuse?.index }), tee.input], { signal }),
      pipeStages([tee.sides[1], out], { signal }),
    ]),
    ([raw]) => (raw.status === 'fulfilled' ? (raw.value as { digest: string; size: number }) : undefined),
  );
  signal?.throwIfAborted();
  // the cause (a disk full), not what it did to the other streams
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0) throw failures.find((e) => !isKnockOn(e)) ?? failures[0];
  const [raw, packed] = settled.map((s) => (s as PromiseFulfilledResult<{ digest: string; size: number }>).value);
  const empty = entries === 0;
  env.snapshotStore.meta.setBlob(id, row.parent, 'uncompressed', { diffId: raw.digest, digest: raw.digest, size: raw.size, mediaType: mediaTypes.uncompressed, empty }, { replace: row.replace });
  return { diffId: raw.digest, digest: packed.digest, size: packed.size, mediaType: mediaTypes[req.compression], empty };
}

/**
 * Runs `make`, which stores the snapshot's uncompressed tar, with a COPY result's tar reuse
 * (./tar-reuse.ts); keeps the tar's index when `stored` names the tar `make` stored.
 */
async function withTarReuse<T>(env: LayerEnv, id: string, make: (reuse: TarReuse | undefined) => Promise<T>, stored: (result: T) => { digest: string; size: number } | undefined): Promise<T> {
  const reuse = prepareTarReuse({ snapshots: env.snapshotStore, blobPath: (d) => env.content.path(d) }, id);
  try {
    const result = await make(reuse);
    const tar = stored(result);
    if (reuse && tar) reuse.save(tar);
    return result;
  } finally {
    reuse?.close();
  }
}

// pipeline's typings have no overload for an array of streams of mixed kinds (tar-stream's pack is a streamx stream)
const pipeStages = pipeline as unknown as (streams: readonly unknown[], opts: { signal?: AbortSignal }) => Promise<void>;

/** The recorded blobs of this diff still in the content store, uncompressed first. */
function storedBlobs(env: LayerEnv, blobs: Record<string, LayerBlob>): [BlobVariant, LayerBlob][] {
  const out: [BlobVariant, LayerBlob][] = [];
  // a stat each, synchronously (as stored-layer.ts): a few microseconds, where a round trip through
  // libuv's threads waited behind a push's first requests (5-70 ms before its compression began)
  for (const [v, b] of Object.entries(blobs) as [BlobVariant, LayerBlob][]) if (existsSync(env.content.path(b.digest))) out.push([v, b]);
  const rank = (b: LayerBlob) => (compressionOf(b.mediaType) === 'uncompressed' ? 0 : 1);
  return out.sort((a, b) => rank(a[1]) - rank(b[1]));
}

/** The uncompressed tar of a stored blob (checked against its digest as it flows). */
export async function decompressed(env: LayerEnv, blob: LayerBlob): Promise<Readable> {
  const c = compressionOf(blob.mediaType);
  const source = await env.content.open(blob.digest, { size: blob.size });
  if (c === 'uncompressed') return source;
  const decoder = c === 'gzip' ? createGunzip() : createZstdDecompress();
  source.on('error', (e) => decoder.destroy(e));
  return source.pipe(decoder);
}
