// Layer blobs made while the build runs. Tarring, gzipping and storing (with its fsync) each new
// layer after the solve was most of a cold build's export: 110–160 ms for many-runs' 20 layers,
// one after the other (bench/README.md). Here each step on the image's own lineage starts its blob
// right after it commits, in the background, one at a time: the steps spend most of their time
// waiting for runc, so the blob uses a core that is idle then. The export then only collects them,
// in parallel for any not made yet.
//
//   const prefetch = createLayerPrefetch(worker, { lineage: imageLineage(def.root) });
//   const solved = await solve(def.root, { worker: prefetch.worker, … });
//   const layers = await prefetch.layers(chain, signal);
//   await prefetch.close();   // always, before the worker closes (finally)
//
// The blob of a snapshot is the same bytes whoever makes it and when (worker.layer is idempotent and
// keyed by the snapshot's content), so digests do not change.
import PQueue from 'p-queue';
import type { Vertex } from '../llb/index.ts';
import type { LayerInfo, Worker } from '../../worker/index.ts';

export interface LayerPrefetch {
  /** The worker to give the solver: exec and file results on the lineage start their blob. */
  worker: Worker;
  /** The blob of each snapshot in `chain`, in order: those started are awaited, the rest made now, two at a time. */
  layers(chain: readonly string[], signal?: AbortSignal): Promise<LayerInfo[]>;
  /** Stops blobs not started, waits for those under way (they may be writing to the store). Never throws; idempotent. */
  close(): Promise<void>;
}

/**
 * Digests of the vertices whose results can be layers of the image built from `root`: the root,
 * then each one's root filesystem input (exec's root mount, file's base), down to the first source.
 * Other stages' steps (a compiler stage whose binary is copied) are left out: their blobs would be
 * made for nothing.
 */
export function imageLineage(root: Vertex | undefined): Set<string> {
  const out = new Set<string>();
  let v = root;
  while (v && !out.has(v.digest)) {
    out.add(v.digest);
    const op = v.op;
    const input = op.kind === 'exec' ? op.mounts.find((m) => m.type === 'root')?.input : op.kind === 'file' ? op.base : undefined;
    v = input === undefined ? undefined : v.inputs[input];
  }
  return out;
}

// one background blob while steps run: the other core stays with the steps; at export, whatever is
// left goes two at a time (gzip of one layer is one core's work)
const duringBuild = 1;
const atExport = 2;

export function createLayerPrefetch(worker: Worker, opts: { lineage: ReadonlySet<string> }): LayerPrefetch {
  const queue = new PQueue({ concurrency: duringBuild });
  const abort = new AbortController();
  const started = new Map<string, Promise<LayerInfo>>();
  let closed = false;

  const start = (id: string): Promise<LayerInfo> => {
    let p = started.get(id);
    if (!p) {
      p = queue.add(() => worker.layer(id, { signal: abort.signal }));
      // a failure shows when the export asks again (layers() retries), never as an unhandled rejection
      p.catch(() => {});
      started.set(id, p);
    }
    return p;
  };
  const afterCommit = (ctx: { vertex: { digest: string } }) => (id: string) => {
    if (!closed && opts.lineage.has(ctx.vertex.digest)) void start(id);
    return id;
  };

  return {
    worker: {
      ...worker,
      exec: (op, inputs, ctx) => worker.exec(op, inputs, ctx).then(afterCommit(ctx)),
      file: (op, inputs, ctx) => worker.file(op, inputs, ctx).then(afterCommit(ctx)),
    },
    async layers(chain, signal) {
      queue.concurrency = atExport;
      return Promise.all(
        chain.map(async (id) => {
          signal?.throwIfAborted();
          // made in the background: use it; if that failed (or was stopped), make it again here so
          // its error, if any, is the export's
          const early = started.get(id);
          if (early) {
            const done = await early.then((info) => info, () => undefined);
            if (done) return { ...done };
          }
          return queue.add(() => worker.layer(id, { signal }));
        }),
      );
    },
    async close() {
      closed = true;
      // blobs not started yet start with an aborted signal and stop at once: every promise settles
      abort.abort(new Error('build finished'));
      await queue.onIdle();
    },
  };
}
