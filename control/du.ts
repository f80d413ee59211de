// `engine.du()`: what the state root holds, as records (`docker buildx du`): each snapshot, blob
// and cache mount with its size, when it was last used, whether more than one result uses it
// (shared), whether something holds it now (in use: not reclaimable), and what it is. The totals
// add up everything below the root (store-usage.ts), database, step logs and tmp included, so they
// match `du -sb` of the root.
import type { EngineParts } from './engine.ts';
import { loadStore } from './prune.ts';

export interface DuRecord {
  /** A snapshot name, a blob digest, or a cache mount's directory name. */
  id: string;
  kind: 'snapshot' | 'blob' | 'cache-mount';
  size: number;
  /** ms since the epoch. */
  created: number | undefined;
  lastUsed: number | undefined;
  /** How many cache entries' results use it. */
  usageCount: number;
  /** Used by more than one result or image. */
  shared: boolean;
  /** Held by a running build or a tag: prune keeps it. */
  inUse: boolean;
  /** What it is: the layer of which image, a result of how many steps, a cache mount. */
  description: string;
  parent?: string;
}

export interface DuReport {
  records: DuRecord[];
  /** Everything below the root, in bytes. */
  total: number;
  /** What prune --all could free (not held). */
  reclaimable: number;
  /** Records' bytes used by more than one result, and by one. */
  shared: number;
  private: number;
  /** The rest of `total`, by what it is. */
  other: { database: number; logs: number; tmp: number; other: number };
}

export async function diskUsage(engine: EngineParts): Promise<DuReport> {
  const { usage, graph } = await loadStore(engine);
  const lastUsed = new Map<string, number>();
  const uses = new Map<string, number>();
  const tops = new Map<string, number>();
  // the step that made a snapshot: the first entry recorded with it as its result
  const madeBy = new Map<string, { created: number; description: string }>();
  for (const e of graph.entries) {
    if (e.snapshot === undefined) continue;
    tops.set(e.snapshot, (tops.get(e.snapshot) ?? 0) + 1);
    const known = madeBy.get(e.snapshot);
    if (e.description !== undefined && (!known || e.created < known.created)) madeBy.set(e.snapshot, { created: e.created, description: e.description });
    const blobs = new Set<string>();
    for (const s of graph.chain(e.snapshot)) {
      lastUsed.set(s, Math.max(lastUsed.get(s) ?? 0, e.lastUsed));
      uses.set(s, (uses.get(s) ?? 0) + 1);
      for (const d of graph.layers(s)) blobs.add(d);
    }
    for (const d of blobs) {
      lastUsed.set(d, Math.max(lastUsed.get(d) ?? 0, e.lastUsed));
      uses.set(d, (uses.get(d) ?? 0) + 1);
    }
  }
  const layerOf = new Map<string, string>();
  for (const s of graph.snapshots.keys()) for (const d of graph.layers(s)) layerOf.set(d, s);
  const tagNames = (d: string) => graph.tagged.get(d)?.join(', ');
  const records: DuRecord[] = [];
  for (const [name, g] of usage.snapshots) {
    const s = graph.snapshots.get(name);
    if (!s) {
      records.push({ id: name, kind: 'snapshot', size: g.size, created: undefined, lastUsed: g.modified, usageCount: 0, shared: false, inUse: true, description: 'active snapshot (a step running, or left by a killed build)' });
      continue;
    }
    const n = uses.get(name) ?? 0;
    const images = [...new Set(graph.layers(name).flatMap((d) => graph.tagged.get(d) ?? []))];
    const step = madeBy.get(name)?.description;
    const image = images.length > 0 ? `layer of ${images.join(', ')}` : undefined;
    const what = step !== undefined ? (image ? `${step} (${image})` : step) : image ?? (tops.has(name) ? `result of ${tops.get(name)} cached step${tops.get(name) === 1 ? '' : 's'}` : n > 0 ? 'parent layer of cached results' : 'no cached step uses it');
    records.push({ id: name, kind: 'snapshot', size: g.size + (usage.logs.get(name)?.size ?? 0), created: s.created, lastUsed: lastUsed.get(name) ?? s.created, usageCount: n, shared: n > 1 || images.length > 1, inUse: graph.held.snapshots.has(name), description: what, ...(s.parent !== undefined && { parent: s.parent }) });
  }
  for (const [digest, g] of usage.blobs) {
    const tags = tagNames(digest);
    const layer = layerOf.get(digest);
    const what = tags ? `blob of ${tags}` : layer ? `layer blob of snapshot ${layer.slice(0, 12)}` : uses.has(digest) ? 'layer blob of a cached result' : 'unreferenced blob';
    const n = uses.get(digest) ?? 0;
    records.push({ id: digest, kind: 'blob', size: g.size, created: g.modified, lastUsed: lastUsed.get(digest) ?? g.modified, usageCount: n, shared: n > 1 || (graph.tagged.get(digest)?.length ?? 0) > 1, inUse: graph.held.blobs.has(digest), description: what });
  }
  for (const [name, g] of usage.cacheMounts) {
    records.push({ id: name, kind: 'cache-mount', size: g.size, created: undefined, lastUsed: g.modified, usageCount: 0, shared: !name.startsWith('private-'), inUse: false, description: 'RUN --mount=type=cache' });
  }
  // logs of snapshots are counted with them; the others on their own line
  const strayLogs = [...usage.logs].filter(([name]) => !graph.snapshots.has(name)).reduce((n, [, g]) => n + g.size, 0);
  const sum = (f: (r: DuRecord) => boolean) => records.filter(f).reduce((n, r) => n + r.size, 0);
  records.sort((a, b) => b.size - a.size || a.id.localeCompare(b.id));
  return {
    records,
    total: usage.total,
    reclaimable: sum((r) => !r.inUse),
    shared: sum((r) => r.shared),
    private: sum((r) => !r.shared),
    other: { ...usage.other, logs: usage.other.logs + strayLogs },
  };
}
