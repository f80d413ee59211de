// worker.layer(id): tar the snapshot's own diff once, compress it, store the blob, and record it
// in the snapshot's record so export reuses it (and an unpacked image layer keeps its original blob).
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, createZstdCompress, constants as zlib } from 'node:zlib';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { MediaTypes } from '../../src/image/index.ts';
import type { LayerInfo } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';

export type Compression = 'gzip' | 'uncompressed' | 'zstd';

const mediaTypes: Record<Compression, string> = { gzip: MediaTypes.ociLayerGzip, uncompressed: MediaTypes.ociLayer, zstd: MediaTypes.ociLayerZstd };

export function compressionOf(mediaType: string): Compression {
  if (mediaType.endsWith('gzip')) return 'gzip';
  if (mediaType.endsWith('zstd')) return 'zstd';
  return 'uncompressed';
}

/** With `signal`, an abort stops the tar and compression under way and stores nothing. */
export async function layerBlob(env: WorkerEnv, id: string, compression: Compression = 'gzip', signal?: AbortSignal): Promise<LayerInfo> {
  signal?.throwIfAborted();
  const record = env.snapshotStore.meta.get(id);
  if (!record) throw new TsbuildError(`snapshot ${id} is not committed`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
  const known = record.blob;
  if (known && compressionOf(known.mediaType) === compression && (await env.content.has(known.digest))) return { ...known };
  let entries = 0;
  const diffHash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      diffHash.update(chunk);
      cb(null, chunk);
    },
  });
  const compressor = compression === 'gzip' ? createGzip({ level: zlib.Z_DEFAULT_COMPRESSION }) : compression === 'zstd' ? createZstdCompress() : new Transform({ transform: (c, _e, cb) => cb(null, c) });
  const tarStream = env.snapshots.differ.layerTar(id, { onEntry: () => entries++ });
  // allSettled: on an abort the store must have removed its partial ingest file before we return
  const [stored, piped] = await Promise.allSettled([env.content.putStream(compressor), pipeline(tarStream, tap, compressor, { signal })]);
  signal?.throwIfAborted();
  if (piped.status === 'rejected') throw piped.reason;
  if (stored.status === 'rejected') throw stored.reason;
  const blob = stored.value;
  const info: LayerInfo = { diffId: `sha256:${diffHash.digest('hex')}`, digest: blob.digest, size: blob.size, mediaType: mediaTypes[compression], empty: entries === 0 };
  // first writer wins: a row recorded by an unpack keeps the image's original blob
  env.snapshotStore.meta.setBlob(id, info, { replace: false });
  return info;
}
