// Acts on a plan: runs every vertex whose inputs are ready, at most `maxParallelism` at once,
// each distinct cache key once. The first failure aborts the rest (their sandboxes and mounts are
// cleaned up by the worker when it sees the signal) and is the error the build reports.
import PQueue from 'p-queue';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import { assertNever, topoSort, type Vertex } from '../src/llb/index.ts';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { BuildSession, InputRef, RunInputs, Worker } from '../worker/index.ts';
import type { CacheIndex, KeyParts } from './cache-index.ts';
import type { Lease } from '../src/state/index.ts';
import type { Decision } from './plan.ts';
import { withStep } from './step-error.ts';

export interface ExecuteOptions {
  worker: Worker;
  cache: CacheIndex;
  /** Host directory of each named local context. */
  localDirs: ReadonlyMap<string, string>;
  progress: ProgressSink;
  maxParallelism: number;
  signal?: AbortSignal;
  /** Secrets, limits, ssh sockets, insecure registries: handed to every step's run, never part of a key. */
  runInputs?: RunInputs;
  /** Holds what the build makes and uses until it ends (src/state/leases.ts). */
  lease?: Lease;
  /** What each vertex's key was made of, by vertex digest: recorded with its result. */
  parts?: ReadonlyMap<string, KeyParts>;
  /** The build's session on the worker: a source's run reuses what its key fetched. */
  session?: BuildSession;
}

export interface ExecuteStats {
  ran: number;
  cached: number;
}

/** Resolves to the snapshot of `root` (undefined: the empty filesystem). */
export async function executePlan(root: Vertex, plan: ReadonlyMap<string, Decision>, opts: ExecuteOptions): Promise<{ snapshot: string | undefined; stats: ExecuteStats }> {
  const queue = new PQueue({ concurrency: opts.maxParallelism });
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // a signal that came while cache keys were computed fires no event for a late listener
  if (opts.signal?.aborted) onOuterAbort();
  const byKey = new Map<string, Promise<InputRef>>();
  const stats: ExecuteStats = { ran: 0, cached: 0 };
  let firstError: unknown;

  // Steps below a cache hit are not needed, but a user reads the log as "every step was
  // cached", as BuildKit shows it: report them, inputs first.
  for (const v of topoSort([root])) {
    const d = plan.get(v.digest);
    if (d?.action === 'skip' || d?.action === 'cached') {
      stats.cached++;
      opts.progress.emit({ type: 'vertex.cached', vertex: { digest: v.digest, name: v.meta.name } });
    }
  }

  const resolve = (v: Vertex): Promise<InputRef> => {
    const d = plan.get(v.digest)!;
    let p = byKey.get(d.key);
    if (!p) {
      p = resolveOnce(v, d);
      byKey.set(d.key, p);
    }
    return p;
  };

  const resolveOnce = async (v: Vertex, d: Decision): Promise<InputRef> => {
    const ref: VertexRef = { digest: v.digest, name: v.meta.name };
    switch (d.action) {
      case 'local': {
        const { name, excludePatterns } = d.context;
        const dir = opts.localDirs.get(name);
        if (!dir) throw new TsbuildError(`no build context named "${name}" was given`, { code: ErrorCodes.CONTEXT_NOT_FOUND, kind: 'not-found', hint: `pass --build-context ${name}=DIR` });
        return { type: 'local', dir, excludePatterns };
      }
      case 'cached': {
        opts.cache.touch([d.key]);
        if (d.snapshot !== undefined || !d.layers) return { type: 'snapshot', id: d.snapshot };
        // the result is only layer blobs (GC removed its snapshot, or it came from elsewhere): unpack
        // them, as an image's layers are, and point the entry at the new snapshot
        const layers = d.layers;
        const id = await queue.add(() => opts.worker.unpackLayers(layers, { vertex: ref, progress: opts.progress, signal: abort.signal })).catch((e: unknown) => {
          throw withStep(e, v);
        });
        if (id !== undefined) opts.lease?.add('snapshot', id);
        opts.cache.record(d.key, { snapshot: id });
        return { type: 'snapshot', id };
      }
      case 'skip':
        throw new Error(`vertex ${v.meta.name} was skipped by the plan but is needed`);
      case 'run': {
        const inputs = await Promise.all(v.inputs.map(resolve));
        return queue.add(
          async () => {
            abort.signal.throwIfAborted();
            opts.progress.emit({ type: 'vertex.started', vertex: ref });
            try {
              const snapshot = await opts.worker.run(v.op, inputs, { ...opts.runInputs, vertex: ref, progress: opts.progress, signal: abort.signal, session: opts.session });
              if (snapshot !== undefined) opts.lease?.add('snapshot', snapshot);
              opts.lease?.add('cache', d.key);
              opts.cache.record(d.key, { snapshot, parts: opts.parts?.get(v.digest) });
              opts.cache.describe?.(d.key, v.meta.name);
              stats.ran++;
              opts.progress.emit({ type: 'vertex.done', vertex: ref });
              return { type: 'snapshot', id: snapshot } as const;
            } catch (e) {
              opts.progress.emit({ type: 'vertex.error', vertex: ref, message: e instanceof Error ? e.message : String(e) });
              throw withStep(e, v);
            }
          },
        );
      }
      default:
        return assertNever(d);
    }
  };

  // steps the plan runs although no later step needs them (--no-cache-filter's stages below a hit)
  const unneeded = (v: Vertex) => plan.get(v.digest)?.action === 'run' && v !== root;
  try {
    const out = await Promise.all([resolve(root), ...topoSort([root]).filter(unneeded).map(resolve)]).then(([top]) => top).catch((e) => {
      firstError ??= e;
      abort.abort(e);
      throw e;
    });
    if (out.type !== 'snapshot') throw new TsbuildError('the build result is a build context, not a filesystem', { code: ErrorCodes.INTERNAL, kind: 'internal' });
    return { snapshot: out.id, stats };
  } catch (e) {
    abort.abort(e);
    await queue.onIdle().catch(() => {});
    throw firstError ?? e;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
