// The solver: a DAG in, the target's snapshot out, with cache keys, the local cache and parallel
// scheduling. See DESIGN.md "Cache keys" and "Scheduling".
import { graphDepth, topoSort, type Vertex } from '../src/llb/index.ts';
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import type { Lease, LeaseResource } from '../src/state/index.ts';
import { describeOp, type BuildSession, type LayerRecord, type RunInputs, type Worker } from '../worker/index.ts';
import { openCacheIndex, type CacheEntry, type CacheIndex, type CacheReader, type KeyParts } from './cache-index.ts';
import { createMissExplainer } from './explain-miss.ts';
import { computeCacheKeys, type CacheKeyOptions, type LocalChecksum, type LocalChecksumOptions } from './cache-key.ts';
import { executePlan, type ExecuteStats } from './execute.ts';
import { planBuild, rerunBelow, type Decision } from './plan.ts';
import { parallelismFor } from './parallelism.ts';
import { openStepLocks, type StepLock, type StepLocks } from './step-locks.ts';
import { addStepParts, createListingRecorder, planReasons, withReasons, type ListingChecksum } from './miss-reasons.ts';
import { sandboxFrontier } from './sandbox-frontier.ts';
import { missedListings } from './imported-cache.ts';

export { computeCacheKeys, planBuild, openCacheIndex, openStepLocks, parallelismFor };
export { openCacheRecords, type CacheRecord, type CacheRecords } from './cache-index.ts';
export { withImportedCaches, importOf, type ImportedCache, type ImportedRecord } from './imported-cache.ts';
export type { CacheKeyOptions, Decision, LocalChecksum, LocalChecksumOptions, ExecuteStats, StepLock, StepLocks };
export type { CacheEntry, CacheIndex, CacheReader, KeyParts };
export type { ListingChecksum };

export interface SolveOptions {
  worker: Worker;
  /** The engine's cache index (opened once per state root, solver/cache-index.ts): looked up and recorded into. */
  cache: CacheIndex;
  /** Host directory of each named local context (`context` is the main one). */
  localDirs: ReadonlyMap<string, string>;
  /** May hand each hashed part to `onPart`: a miss then names the file that changed (solver/miss-reasons.ts). */
  checksum: ListingChecksum;
  progress: ProgressSink;
  /** --explain: every step's progress says why it ran or why it was a hit, not only the misses of a known step. */
  explain?: boolean;
  noCache: boolean;
  /** Stage names whose vertices ignore the cache (--no-cache-filter). */
  noCacheStages?: readonly string[];
  maxParallelism: number;
  signal?: AbortSignal;
  /**
   * What every step's run gets besides its op (worker RunInputs: secrets, resource limits, ssh agent
   * sockets, insecure registries): how steps run, never part of a key.
   */
  runInputs?: RunInputs;
  /** The build's lease: every cache entry, snapshot and blob the solve uses or makes is added to it. */
  lease?: Lease;
  /** The engine's step locks (solver/step-locks.ts): a key another build is running is waited for, not run again. */
  locks?: StepLocks;
  /** Whether the target, found in the cache as layers only, may stay so (executePlan's keepRootLayers). */
  keepRootLayers?: (layers: readonly LayerRecord[]) => boolean;
}

export interface SolveResult {
  /** The target's committed snapshot; undefined for an empty filesystem. */
  snapshot: string | undefined;
  /** Set instead of `snapshot` when the target stayed layers (keepRootLayers): bottom first, their blobs perhaps not local yet. */
  layers?: readonly LayerRecord[];
  stats: ExecuteStats;
  plan: Map<string, Decision>;
}

export async function solve(root: Vertex | undefined, opts: SolveOptions): Promise<SolveResult> {
  if (!root) return { snapshot: undefined, stats: { ran: 0, cached: 0 }, plan: new Map() };
  // what the build's sources fetch (an http body, a git ref's commit) lives as long as this solve:
  // its key and its step share it, the next build asks the remote again
  const session = opts.worker.openSession();
  try {
    return await solveInSession(root, session, opts);
  } finally {
    await session.close();
  }
}

async function solveInSession(root: Vertex, session: BuildSession, opts: SolveOptions): Promise<SolveResult> {
  const order = topoSort([root]);
  checkDepth(order);
  const parts = new Map<string, KeyParts>();
  const listings = createListingRecorder(opts.checksum);
  const keys = await computeCacheKeys(
    order,
    {
      checksum: listings.checksum,
      remote: (op, signal) => session.resolveSource(op, signal),
      maxParallelism: parallelismFor(opts.maxParallelism).contentReads,
      signal: opts.signal,
      progress: opts.progress,
    },
    parts,
  );
  addStepParts(order, parts, opts.localDirs.get('context') ?? '');
  const cache = opts.cache;
  // an imported record's listings are fetched only for the misses they explain (solver/imported-cache.ts)
  if (cache.loadListings) await cache.loadListings(missedListings(order, keys, parts, cache), opts.signal);
  const noCacheStages = new Set(opts.noCacheStages ?? []);
  const ignoreCache = (v: Vertex) => opts.noCache || v.meta.ignoreCache === true || (v.meta.stage !== undefined && noCacheStages.has(v.meta.stage));
  const rerun = rerunBelow(ignoreCache);
  const explainer = createMissExplainer({ cache, parts, listings: listings.listing, noCache: opts.noCache });
  // the hits' leases are written together once the plan is made: one commit, not one per resource
  const hits: [LeaseResource, string][] = [];
  const plan = planBuild(root, {
    keys,
    lookup: (k) => holdEntry(hits, k, cache.lookup(k)),
    explainMiss: (v, k, why) => explainer.miss(v, k, why),
    ignoreCache,
    ignoreReason: (v) => (opts.noCache || v.meta.ignoreCache === true ? 'cache disabled (--no-cache)' : `cache disabled for stage ${v.meta.stage} (--no-cache-filter)`),
    rerunReason: (_v, below) => `earlier step "${below.meta.name}" ran again (${below.meta.ignoreCache === true ? 'its cache disabled' : '--no-cache-filter'})`,
  });
  opts.lease?.addAll(hits);
  warnUnknownStages(noCacheStages, order, opts.progress);
  // the plan says a sandboxed step will run: its network namespace is made while the steps before it run
  const sandboxed = (v: Vertex) => plan.get(v.digest)?.action === 'run' && describeOp(v.op).usesSandboxNetwork;
  const startingAtOnce = sandboxFrontier(order, sandboxed);
  if (startingAtOnce > 0) opts.worker.warmNetwork(startingAtOnce);
  // the namespaces go once the last sandboxed step is done, while the steps after it run: a
  // slirp4netns takes 15-35 ms to end (the kernel's removal of its tap device), which the close
  // otherwise waits for (test/cli/network.test.ts)
  const sandboxKeys = new Set(order.filter(sandboxed).map((v) => plan.get(v.digest)!.key));
  listings.keep(order, plan, parts, cache);
  const progress = withReasons(opts.progress, planReasons(order, plan, explainer, opts.explain === true));
  const executed = executePlan(root, plan, {
    worker: opts.worker,
    cache,
    localDirs: opts.localDirs,
    progress,
    maxParallelism: opts.maxParallelism,
    signal: opts.signal,
    runInputs: opts.runInputs,
    lease: opts.lease,
    parts,
    session,
    locks: opts.locks,
    // a step the build runs despite the cache is never answered by another build's run either, nor
    // is a step on its result (another build's run of that key read the result it had before)
    shareable: (v) => (!ignoreCache(v) || describeOp(v.op).cachedUnderNoCache) && rerun(v) === undefined,
    keepRootLayers: opts.keepRootLayers,
    onSettled: (key) => {
      if (sandboxKeys.delete(key) && sandboxKeys.size === 0) opts.worker.coolNetwork?.();
    },
  });
  // a failed or cancelled build's namespaces go now too (drain is idempotent)
  const { snapshot, layers, stats } = await executed.finally(() => opts.worker.coolNetwork?.());
  return { snapshot, ...(layers && { layers }), stats, plan };
}

/** A --no-cache-filter name that no step of this build has is most likely a typo: say so. */
function warnUnknownStages(names: ReadonlySet<string>, order: readonly Vertex[], progress: ProgressSink): void {
  const built = new Set(order.map((v) => v.meta.stage));
  for (const name of names) {
    if (!built.has(name)) progress.emit({ type: 'build.warning', message: `--no-cache-filter: no stage named "${name}" is part of this build, so it changes nothing` });
  }
}

/** Notes what a hit holds, leased as soon as the plan is made, so GC cannot take it between the plan and its use. */
function holdEntry(hits: [LeaseResource, string][], key: string, e: CacheEntry | undefined): CacheEntry | undefined {
  if (!e) return e;
  hits.push(['cache', key]);
  if (e.snapshot !== undefined) hits.push(['snapshot', e.snapshot]);
  for (const l of e.layers ?? []) for (const b of l.blobs) hits.push(['blob', b.digest]);
  return e;
}

// Far beyond any real build (an image holds at most 127 layers), and low enough that the walks
// over the graph never come near the stack's limit, however the graph was made.
export const maxGraphDepth = 1000;

function checkDepth(order: readonly Vertex[]): void {
  const depth = graphDepth(order);
  if (depth <= maxGraphDepth) return;
  const last = order[order.length - 1];
  throw invalid(ErrorCodes.DOCKERFILE_SEMANTIC, `the build graph is ${depth} steps deep (each step reads the one before it: the instructions of a stage, FROM an earlier stage, COPY --from); tsbuild builds at most ${maxGraphDepth}`, {
    location: last.meta.location,
    hint: 'an image holds at most 127 layers: merge steps, or copy from the stage that holds the files instead of through every stage in between',
  });
}
