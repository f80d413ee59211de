// `engine.prune()`: plan what goes (prune-plan.ts), then remove it so that a kill -9 at any moment
// leaves a store the next build uses: cache entries first (one transaction), then snapshots
// children before parents (each its record before its files, so a half-deleted one is never used
// and recovery removes the rest), then blobs (a cache entry still naming one checks it is there),
// then the layer rows, logs and cache mounts. Everything is checked against the leases once more
// just before it goes: a build that started meanwhile keeps what it took.
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openCacheRecords } from '../solver/index.ts';
import type { EngineParts } from './engine.ts';
import { loadStoreGraph, type StoreGraph } from './store-graph.ts';
import { planPrune, type PrunePlan } from './prune-plan.ts';
import { measureStore, type StoreUsage } from './store-usage.ts';

export interface PruneOptions {
  /** Also the cache tagged images' rebuilds use (their blobs stay), and cache mounts. */
  all?: boolean;
  /** Remove least recently used first until the root holds at most this many bytes. */
  keepStorage?: number;
  /** Only what was last used longer ago than this many ms (`--filter until=24h`). */
  until?: number;
}

export interface PrunedRecord {
  id: string;
  kind: 'cache' | 'snapshot' | 'blob' | 'log' | 'cache-mount';
  size: number;
}

export interface PruneResult {
  removed: PrunedRecord[];
  /** Bytes freed. */
  freed: number;
  /** What the root holds after. */
  total: number;
  /** Set when `all` was asked but cache mounts were kept, with why. */
  cacheMountsKept?: string;
}

/** Unreferenced snapshots and blobs younger than this may be a result another process is recording. */
export const pruneGraceMs = 10 * 60 * 1000;

export async function loadStore(engine: EngineParts): Promise<{ usage: StoreUsage; graph: StoreGraph }> {
  const usage = measureStore(engine.paths.root);
  const graph = await loadStoreGraph({
    storage: engine.worker.storage,
    entries: openCacheRecords(engine.db).list(),
    leases: engine.leases,
    content: engine.content,
    // dangling images hold nothing (src/state/leases.ts): a prune removes them first
    tags: engine.images.list().filter((t) => !t.dangling).map((t) => ({ name: t.name, digest: t.digest })),
  });
  return { usage, graph };
}

export async function pruneStore(engine: EngineParts, opts: PruneOptions & { buildsRunning: boolean; now?: number; graceMs?: number }): Promise<PruneResult> {
  let { usage, graph } = await loadStore(engine);
  if (opts.keepStorage !== undefined && usage.total <= opts.keepStorage) return { removed: [], freed: 0, total: usage.total };
  // dangling images (untagged builds and loads) are kept until a prune (by hand or the GC policy):
  // their records go first, so what only they held is cache like any other below
  if (dropDangling(engine)) ({ usage, graph } = await loadStore(engine));
  const others = otherWorkers(engine.paths.root);
  const cacheMountsKept = !opts.all ? undefined : opts.buildsRunning ? 'a build is running' : others > 0 ? `${others} other tsbuild process${others === 1 ? '' : 'es'} use${others === 1 ? 's' : ''} this root` : undefined;
  const plan = planPrune(graph, usage, { all: opts.all ?? false, keepStorage: opts.keepStorage, until: opts.until, cacheMountsFree: cacheMountsKept === undefined }, opts.now ?? Date.now(), opts.graceMs ?? pruneGraceMs);
  const removed = await applyPlan(engine, graph, usage, plan);
  const freed = removed.reduce((n, r) => n + r.size, 0);
  return { removed, freed, total: usage.total - freed, ...(cacheMountsKept !== undefined && usage.cacheMounts.size > 0 && { cacheMountsKept }) };
}

/** Removes the dangling image records; whether there were any. */
function dropDangling(engine: EngineParts): boolean {
  const dangling = engine.images.list().filter((i) => i.dangling);
  for (const image of dangling) engine.images.remove(image.digest);
  return dangling.length > 0;
}

async function applyPlan(engine: EngineParts, graph: StoreGraph, usage: StoreUsage, plan: PrunePlan): Promise<PrunedRecord[]> {
  const { leases, worker, content } = engine;
  const removed: PrunedRecord[] = [];
  const byKey = new Map(graph.entries.map((e) => [e.key, e]));
  const deleted = new Set(openCacheRecords(engine.db).delete(plan.entries, (key) => leases.isHeld('cache', key)));
  for (const k of plan.entries) if (deleted.has(k)) removed.push({ id: k, kind: 'cache', size: 0 });
  // what a skipped entry (held since the plan) or a snapshot held since the plan sits on stays
  const keep = new Set<string>();
  const keptBlobs = new Set<string>();
  const keepChain = (top: string) => {
    for (const s of graph.chain(top)) {
      keep.add(s);
      for (const d of graph.layers(s)) keptBlobs.add(d);
    }
  };
  for (const k of plan.entries) {
    const top = byKey.get(k)?.snapshot;
    if (!deleted.has(k) && top !== undefined) keepChain(top);
  }
  for (const s of plan.snapshots) {
    if (keep.has(s) || leases.isHeld('snapshot', s)) {
      keepChain(s);
      continue;
    }
    await worker.storage.removeSnapshot(s);
    removed.push({ id: s, kind: 'snapshot', size: usage.snapshots.get(s)?.size ?? 0 });
  }
  for (const d of plan.blobs) {
    if (keptBlobs.has(d) || leases.isHeld('blob', d)) continue;
    await content.delete(d);
    removed.push({ id: d, kind: 'blob', size: usage.blobs.get(d)?.size ?? 0 });
  }
  const gone = new Set(removed.map((r) => r.id));
  for (const s of plan.layerRows) if (graph.layers(s).every((d) => gone.has(d) || !usage.blobs.has(d))) worker.storage.dropLayerRows(s);
  for (const name of plan.logs) {
    if (graph.snapshots.has(name) && !gone.has(name)) continue;
    await rm(join(engine.paths.logs, `${name}.log`), { force: true });
    removed.push({ id: name, kind: 'log', size: usage.logs.get(name)?.size ?? 0 });
  }
  for (const name of plan.cacheMounts) {
    await rm(join(engine.paths.root, 'cache-mounts', name), { recursive: true, force: true });
    removed.push({ id: name, kind: 'cache-mount', size: usage.cacheMounts.get(name)?.size ?? 0 });
  }
  return removed;
}

/** How many other processes have this root open (worker/recover.ts registers each in `workers/`). */
function otherWorkers(root: string): number {
  try {
    return readdirSync(join(root, 'workers')).filter((n) => !n.startsWith(`${process.pid}.`)).length;
  } catch {
    return 0;
  }
}
