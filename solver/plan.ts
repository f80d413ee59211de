// Plan, then act: which vertices are already in the cache, which must run, and why.
// Pure: takes the graph, the keys and a cache lookup, returns data; solver/execute.ts acts on it.
// What sets an op apart here (a build context is never run, an image is reused under --no-cache)
// is the op's own module's to say (worker/ops/<kind>.ts, through describeOp).
import type { Vertex } from '../src/llb/index.ts';
import { describeOp, type ContextRef, type LayerRecord } from '../worker/index.ts';
import type { CacheEntry } from './cache-index.ts';
import type { MissReason } from './explain-miss.ts';

export type { CacheEntry };

export type Decision =
  /** `layers`: the result is only blobs (its snapshot is gone or was never here): unpacked before use. */
  | { action: 'cached'; key: string; snapshot: string | undefined; layers?: readonly LayerRecord[] }
  /** A local source is never run nor cached: ops read the host directory directly. */
  | { action: 'local'; key: string; context: ContextRef }
  /** `previous`: a result for this step existed, and `reason` says what changed since (solver/explain-miss.ts). */
  | { action: 'run'; key: string; reason: string; previous?: true }
  /** Below a cached vertex: nothing needs it this build. */
  | { action: 'skip'; key: string };

export interface PlanOptions {
  keys: ReadonlyMap<string, string>;
  lookup: (key: string) => CacheEntry | undefined;
  /** --no-cache (every vertex) or --no-cache-filter (its stages). */
  ignoreCache: (v: Vertex) => boolean;
  /** Why an ignored vertex runs, as its run reason says it. Default: "cache disabled (--no-cache)". */
  ignoreReason?: (v: Vertex) => string;
  /** Why a vertex with no usable entry missed, or ran though the cache was off, when the index can tell (solver/explain-miss.ts). */
  explainMiss?: (v: Vertex, key: string, why: { ignored: boolean }) => MissReason | undefined;
}

export function planBuild(root: Vertex, opts: PlanOptions): Map<string, Decision> {
  const plan = new Map<string, Decision>();
  const visit = (v: Vertex, needed: boolean) => {
    const key = opts.keys.get(v.digest)!;
    const prev = plan.get(v.digest);
    // a vertex reached both as needed and as skippable is needed
    if (prev && (prev.action !== 'skip' || !needed)) return;
    const op = describeOp(v.op);
    if (op.context) {
      plan.set(v.digest, { action: 'local', key, context: op.context });
      return;
    }
    const ignored = opts.ignoreCache(v) && !op.cachedUnderNoCache;
    // a step the build says not to take from the cache (--no-cache-filter's stages) runs even below
    // a cached step, as in BuildKit, where it must run before the steps on it have keys
    if (!needed && !ignored) {
      plan.set(v.digest, { action: 'skip', key });
      for (const i of v.inputs) visit(i, false);
      return;
    }
    const hit = ignored ? undefined : opts.lookup(key);
    if (hit) {
      plan.set(v.digest, { action: 'cached', key, snapshot: hit.snapshot, ...(hit.layers?.length ? { layers: hit.layers } : {}) });
      for (const i of v.inputs) visit(i, false);
      return;
    }
    const miss = opts.explainMiss?.(v, key, { ignored });
    const reason = ignored ? (opts.ignoreReason?.(v) ?? miss?.reason ?? 'cache disabled (--no-cache)') : (miss?.reason ?? 'no cache entry for this key');
    plan.set(v.digest, { action: 'run', key, reason, ...(miss?.previous && { previous: true as const }) });
    for (const i of v.inputs) visit(i, true);
  };
  visit(root, true);
  return plan;
}
