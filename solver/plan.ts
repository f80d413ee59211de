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
  /** Why a step runs because `below`, a step it reads, runs again despite the cache. Default: "an earlier step ran again (--no-cache-filter)". */
  rerunReason?: (v: Vertex, below: Vertex) => string;
}

export function planBuild(root: Vertex, opts: PlanOptions): Map<string, Decision> {
  const plan = new Map<string, Decision>();
  const rerun = rerunBelow(opts.ignoreCache);
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
    // a step on a rerun step's result may read other bytes than its key says: it runs too
    const below = ignored ? undefined : rerun(v);
    if (below) {
      const reason = opts.rerunReason?.(v, below) ?? 'an earlier step ran again (--no-cache-filter)';
      // "previous" (the reason is worth showing to every user) where a result was there to be reused
      const previous = opts.explainMiss?.(v, key, { ignored: true })?.previous === true;
      plan.set(v.digest, { action: 'run', key, reason, ...(previous && { previous: true as const }) });
      for (const i of v.inputs) visit(i, true);
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

/**
 * The step below `v` (an input, or an input's input…) that runs again despite the cache, if any.
 * Its result is new, while the keys of the steps on it are made of its key, not of what it made:
 * as in BuildKit, where such a step's dependants have no key until it has run, none of them may
 * be taken from the cache by the key they had before. (BuildKit may still hit a `COPY --from` by
 * the checksum of the files it copies; this solver keys no step's result by content, so it runs.)
 */
export function rerunBelow(ignoreCache: (v: Vertex) => boolean): (v: Vertex) => Vertex | undefined {
  const memo = new Map<string, Vertex | null>();
  const find = (v: Vertex): Vertex | undefined => {
    const known = memo.get(v.digest);
    if (known !== undefined) return known ?? undefined;
    let found: Vertex | undefined;
    for (const i of v.inputs) {
      found = reruns(i) ? i : find(i);
      if (found) break;
    }
    memo.set(v.digest, found ?? null);
    return found;
  };
  const reruns = (v: Vertex) => ignoreCache(v) && !describeOp(v.op).cachedUnderNoCache;
  return find;
}
