// The layer blobs of a snapshot chain, made in parallel: each layer's tar (and compression, for an
// output that leaves the machine) is its own job (worker.layer), so an image of ten fresh layers takes about as long as its largest one
// instead of the sum of all. At most `parallelism` run at once (the build's --max-parallelism:
// compression is CPU work). A failure or the build's abort stops the ones under way, and the
// blobs come back in chain order whatever order they finished in, so the image is the same.
import PQueue from 'p-queue';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { LayerBlob } from '../src/image/index.ts';
import type { LayerReuse, Worker } from '../worker/index.ts';

export interface CompressOptions {
  progress: ProgressSink;
  /** The step the per-layer progress is reported under. */
  vertex: VertexRef;
  signal?: AbortSignal;
  parallelism: number;
  /**
   * At once for uncompressed layers (default `parallelism`): a tar of the snapshot and one hash, no
   * compressor, so mostly disk reads and a write's fsync waiting; the build's content-read bound.
   */
  ioParallelism?: number;
  /** Which blob of each layer (worker.layer's options); default gzip, exactly. */
  layer?: { compression: 'gzip' | 'zstd' | 'uncompressed'; level?: number; reuse: LayerReuse; keepUncompressed?: boolean };
  /** SOURCE_DATE_EPOCH's clamp (control/created-times.ts): the layers from chain index `from` up get times later than `epoch` set to it. */
  clamp?: { epoch: number; from: number };
}

export async function compressLayers(worker: Pick<Worker, 'layer'>, chain: readonly string[], opts: CompressOptions): Promise<LayerBlob[]> {
  opts.signal?.throwIfAborted();
  // one failed layer stops the others: their work would be thrown away
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const uncompressed = (opts.layer?.compression ?? 'gzip') === 'uncompressed';
  const queue = new PQueue({ concurrency: Math.max(1, uncompressed ? (opts.ioParallelism ?? opts.parallelism) : opts.parallelism) });
  let done = 0;
  try {
    const jobs = chain.map((id, i) =>
      queue.add(async () => {
        stop.signal.throwIfAborted();
        try {
          const clampTimes = opts.clamp && i >= opts.clamp.from ? opts.clamp.epoch : undefined;
          const layer = await worker.layer(id, { ...opts.layer, signal: stop.signal, ...(clampTimes !== undefined && { clampTimes }) });
          done++;
          opts.progress.emit({ type: 'vertex.progress', vertex: opts.vertex, id: `layer ${layer.digest}`, current: done, total: chain.length, label: opts.layer?.compression === 'uncompressed' ? 'writing layers' : 'compressing' });
          return layer;
        } catch (e) {
          // here, before the queue starts the next one
          stop.abort(e);
          throw e;
        }
      }),
    );
    // settled, not all: no layer job may still be writing when the caller moves on
    const results = await Promise.allSettled(jobs);
    opts.signal?.throwIfAborted();
    // the first failure, not what the others threw on being stopped by it
    if (stop.signal.aborted) throw stop.signal.reason;
    return results.map((r) => (r as PromiseFulfilledResult<LayerBlob>).value);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
