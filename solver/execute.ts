// Acts on a plan: runs every vertex whose inputs are ready, at most `maxParallelism` at once
// (solver/parallelism.ts), each distinct cache key once. The first failure aborts the rest (their
// sandboxes and mounts are cleaned up by the worker when it sees the signal) and is the error the
// build reports. With step locks, a key is also run once across builds (solver/step-locks.ts): a
// step another build is running is waited for and then taken from the cache index, as a hit.
import PQueue from 'p-queue';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import { assertNever, topoSort, type Vertex } from '../src/llb/index.ts';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { BuildSession, InputRef, LayerRecord, RunInputs, Worker } from '../worker/index.ts';
import type { CacheEntry, CacheIndex, KeyParts } from './cache-index.ts';
import type { Lease } from '../src/state/index.ts';
import type { Decision } from './plan.ts';
import { parallelismFor } from './parallelism.ts';
import type { StepLocks } from './step-locks.ts';
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
  /** The engine's step locks: without them, another build running the same key meanwhile runs it again. */
  locks?: StepLocks;
  /**
   * Whether a vertex may take a result another build made while this one ran (default: all).
   * False where the build ignores the cache (--no-cache, --no-cache-filter): such a step runs itself.
   */
  shareable?: (v: Vertex) => boolean;
  /**
   * Whether a root found in the cache as layers only (an imported hit) may stay so: not unpacked,
   * its blobs not fetched (a push that mounts them from the cache's repository needs no bytes).
   */
  keepRootLayers?: (layers: readonly LayerRecord[]) => boolean;
  /** Called with a key once the work for it has settled (run, taken from the cache or another build, or failed). */
  onSettled?: (key: string) => void;
}

export interface ExecuteStats {
  ran: number;
  cached: number;
}

/** Resolves to the snapshot of `root` (undefined: the empty filesystem). */
export async function executePlan(root: Vertex, plan: ReadonlyMap<string, Decision>, opts: ExecuteOptions): Promise<{ snapshot: string | undefined; layers?: readonly LayerRecord[]; stats: ExecuteStats }> {
  const parallelism = parallelismFor(opts.maxParallelism);
  const queue = new PQueue({ concurrency: parallelism.steps });
  // unpacking a cached result's layers is gunzip and file writes: CPU work, bounded as such
  const cpuQueue = new PQueue({ concurrency: parallelism.cpu });
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

  // a root hit that is layers only, and may stay so: nothing to run, unpack or fetch
  const top = plan.get(root.digest);
  if (top?.action === 'cached' && top.snapshot === undefined && top.layers?.length && opts.keepRootLayers?.(top.layers) && ![...plan.values()].some((d) => d.action === 'run')) {
    opts.cache.touch([top.key]);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    return { snapshot: undefined, layers: top.layers, stats };
  }

  const resolve = (v: Vertex): Promise<InputRef> => {
    const d = plan.get(v.digest)!;
    let p = byKey.get(d.key);
    if (!p) {
      p = resolveOnce(v, d);
      byKey.set(d.key, p);
      if (opts.onSettled) {
        const settled = () => opts.onSettled!(d.key);
        p.then(settled, settled);
      }
    }
    return p;
  };

  /** A result found in the cache index; one that is only layers is unpacked first. */
  const useEntry = async (v: Vertex, ref: VertexRef, key: string, entry: { snapshot: string | undefined; layers?: readonly LayerRecord[] }): Promise<InputRef> => {
    opts.cache.touch([key]);
    if (entry.snapshot !== undefined || !entry.layers?.length) return { type: 'snapshot', id: entry.snapshot };
    // the result is only layer blobs (GC removed its snapshot, or it came from elsewhere): unpack
    // them, as an image's layers are, and point the entry at the new snapshot
    const layers = entry.layers;
    const id = await cpuQueue.add(async () => {
      await opts.cache.ensureBlobs?.(layers, abort.signal);
      return opts.worker.unpackLayers(layers, { vertex: ref, progress: opts.progress, signal: abort.signal });
    }).catch((e: unknown) => {
      throw withStep(e, v);
    });
    if (id !== undefined) opts.lease?.add('snapshot', id);
    opts.cache.record(key, { snapshot: id });
    return { type: 'snapshot', id };
  };

  /** Runs `v` on the worker within the step queue and records its result under `key`. */
  const runStep = (v: Vertex, ref: VertexRef, key: string, inputs: readonly InputRef[]): Promise<InputRef> =>
    queue.add(async () => {
      abort.signal.throwIfAborted();
      opts.progress.emit({ type: 'vertex.started', vertex: ref });
      try {
        const previous = previousResult(v, key);
        const snapshot = await opts.worker.run(v.op, inputs, { ...opts.runInputs, vertex: ref, progress: opts.progress, signal: abort.signal, session: opts.session, previous });
        if (snapshot !== undefined) opts.lease?.add('snapshot', snapshot);
        opts.lease?.add('cache', key);
        opts.cache.record(key, { snapshot, parts: opts.parts?.get(v.digest) });
        opts.cache.describe?.(key, v.meta.name);
        stats.ran++;
        opts.progress.emit({ type: 'vertex.done', vertex: ref });
        return { type: 'snapshot', id: snapshot } as const;
      } catch (e) {
        opts.progress.emit({ type: 'vertex.error', vertex: ref, message: e instanceof Error ? e.message : String(e), cancelled: abort.signal.aborted || undefined });
        throw withStep(e, v);
      }
    });

  /**
   * The committed snapshot the last build of `v`'s step made under another key, held by this
   * build's lease from now on: a run may reuse its unchanged files (RunContext.previous). None
   * where the build ignores the cache (--no-cache): such a step makes everything itself.
   */
  const previousResult = (v: Vertex, key: string): string | undefined => {
    const step = opts.shareable?.(v) === false ? undefined : opts.parts?.get(v.digest)?.step;
    const last = step === undefined ? undefined : opts.cache.lastOfStep?.(step, key);
    const snapshot = last && opts.cache.lookup(last.key)?.snapshot;
    if (snapshot !== undefined) opts.lease?.add('snapshot', snapshot);
    return snapshot;
  };

  /** The result another build recorded for `key` since the plan was made, held by this build's lease; reported as a hit. */
  const madeMeanwhile = (ref: VertexRef, key: string): CacheEntry | undefined => {
    const entry = opts.cache.lookup(key);
    if (!entry) return undefined;
    opts.lease?.add('cache', key);
    if (entry.snapshot !== undefined) opts.lease?.add('snapshot', entry.snapshot);
    for (const l of entry.layers ?? []) for (const b of l.blobs) opts.lease?.add('blob', b.digest);
    stats.cached++;
    opts.progress.emit({ type: 'vertex.cached', vertex: ref });
    return entry;
  };

  const waiting = (ref: VertexRef) => opts.progress.emit({ type: 'vertex.progress', vertex: ref, id: 'shared', current: 0, total: 1, label: 'waiting for another build running this step' });

  /**
   * A step to run that another build (of this engine, or another process on the root) may be
   * running too: wait for that one and take its result; run it here only when nobody has it.
   * The lock is taken after the inputs are resolved and held only while the step runs (no build
   * holds one key while waiting for another: step-locks.ts says why that cannot deadlock).
   */
  const runOnce = async (v: Vertex, ref: VertexRef, key: string, locks: StepLocks): Promise<InputRef> => {
    for (;;) {
      const made = madeMeanwhile(ref, key);
      if (made) return useEntry(v, ref, key, made);
      if (!locks.busy(key)) break;
      // the other build's result, or, when it failed or was cancelled, our turn to run it
      waiting(ref);
      await locks.settled(key, abort.signal);
    }
    const inputs = await Promise.all(v.inputs.map(resolve));
    // another build may have taken the key while the inputs were resolved
    if (locks.busy(key)) waiting(ref);
    const lock = await locks.acquire(key, abort.signal);
    try {
      const made = madeMeanwhile(ref, key);
      if (made) return await useEntry(v, ref, key, made);
      return await runStep(v, ref, key, inputs);
    } finally {
      lock.release();
    }
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
      case 'cached':
        return useEntry(v, ref, d.key, d);
      case 'skip':
        throw new Error(`vertex ${v.meta.name} was skipped by the plan but is needed`);
      case 'run': {
        if (opts.locks && (opts.shareable?.(v) ?? true)) return runOnce(v, ref, d.key, opts.locks);
        const inputs = await Promise.all(v.inputs.map(resolve));
        return runStep(v, ref, d.key, inputs);
      }
      default:
        return assertNever(d);
    }
  };

  // steps the plan runs although no later step needs them: none since --no-cache-filter's rerun-below
  // (plan.ts rerunBelow: a step on a rerun step runs too, so no hit sits on one), kept so that a plan
  // deciding to run a step nothing reads still runs it rather than leaving it unbuilt
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
    await Promise.all([queue.onIdle(), cpuQueue.onIdle()]).catch(() => {});
    throw firstError ?? e;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
