// What a prune removes, as data (control/prune.ts then does it). Least recently used first:
//
// - A cache entry is a candidate unless held (a running build's lease), unless it is newer than
//   `until`, and — without `all` — unless its result is a layer of a tagged image (the cache that
//   rebuilding a tagged image needs; docker's "dangling" cache is the rest).
// - Removing an entry releases its result's snapshot chain and their layer blobs: each goes once no
//   remaining entry, lease or tag needs it. A snapshot never goes while a kept one sits on it.
// - What nothing references (a snapshot or a blob no entry, tag or lease names) goes first, when
//   older than `graceMs`: younger, it may be a result another process is about to record.
// - With `keepStorage`, removal stops once what the root holds is at most that, and before any
//   entry goes, snapshots whose every layer has a blob go (leaves first, least recently used
//   first): their entries stay hits, unpacked from the blobs, so a store kept in bounds stays cached.
// - Step logs of removed snapshots go with them; logs of no snapshot once older than `graceMs`;
//   cache mounts only with `all` (and only when nothing may use them: the caller says).
import type { StoreGraph } from './store-graph.ts';
import type { StoreUsage } from './store-usage.ts';

export interface PruneSelection {
  /** Also the cache of tagged images (their blobs stay: a rebuild unpacks them) and cache mounts. */
  all: boolean;
  /** Stop once the root holds at most this many bytes. */
  keepStorage?: number;
  /** Only what was last used longer ago than this (ms). */
  until?: number;
  /** Cache mounts may be removed (with `all`): no build can be using them. */
  cacheMountsFree: boolean;
}

export interface PrunePlan {
  /** Cache keys to delete, in order. */
  entries: string[];
  /** Snapshots to remove, children before parents. */
  snapshots: string[];
  blobs: string[];
  /** Names of snapshots whose layer rows go (their blobs are all gone). */
  layerRows: string[];
  logs: string[];
  cacheMounts: string[];
  /** Bytes all of it holds. */
  freed: number;
}

export function planPrune(graph: StoreGraph, usage: StoreUsage, sel: PruneSelection, now: number, graceMs: number): PrunePlan {
  const { held } = graph;
  const snapRefs = new Map<string, number>();
  const blobRefs = new Map<string, number>();
  const entryChains = new Map<string, { snaps: string[]; blobs: string[] }>();
  for (const e of graph.entries) {
    const snaps = e.snapshot === undefined ? [] : graph.chain(e.snapshot);
    const blobs = [...new Set(snaps.flatMap((s) => graph.layers(s)))];
    entryChains.set(e.key, { snaps, blobs });
    for (const s of snaps) snapRefs.set(s, (snapRefs.get(s) ?? 0) + 1);
    for (const d of blobs) blobRefs.set(d, (blobRefs.get(d) ?? 0) + 1);
  }
  const old = (t: number) => (sel.until === undefined || t < now - sel.until);
  const snapSize = (s: string) => (usage.snapshots.get(s)?.size ?? 0) + (usage.logs.get(s)?.size ?? 0);
  const blobSize = (d: string) => usage.blobs.get(d)?.size ?? 0;

  const snapshots = new Set<string>();
  const blobs = new Set<string>();
  const entries: string[] = [];
  let freed = 0;
  const over = () => sel.keepStorage !== undefined && usage.total - freed <= sel.keepStorage;
  const dropSnapshot = (s: string) => {
    if (snapshots.has(s) || held.snapshots.has(s) || !graph.snapshots.has(s)) return;
    snapshots.add(s);
    freed += snapSize(s);
  };
  const dropBlob = (d: string) => {
    if (blobs.has(d) || held.blobs.has(d) || !usage.blobs.has(d)) return;
    blobs.add(d);
    freed += blobSize(d);
  };

  // unreferenced first: nothing can reuse them
  for (const s of [...graph.snapshots.values()].sort((a, b) => a.created - b.created)) {
    if (over()) break;
    if (!snapRefs.has(s.name) && s.created < now - graceMs && old(s.created)) dropSnapshot(s.name);
  }
  for (const [d, g] of [...usage.blobs].sort((a, b) => a[1].modified - b[1].modified)) {
    if (over()) break;
    if (!blobRefs.has(d) && g.modified < now - graceMs && old(g.modified)) dropBlob(d);
  }
  // under a size limit, snapshots whose layers all have blobs go before any entry: the entries stay
  // usable (a hit unpacks them, docs/cache-keys.md), so a store kept in bounds stays cached
  if (sel.keepStorage !== undefined) {
    const stored = (s: string) => graph.ownLayers(s).some((d) => usage.blobs.has(d) && !blobs.has(d));
    const children = new Map<string, number>();
    for (const s of graph.snapshots.values()) if (s.parent !== undefined) children.set(s.parent, (children.get(s.parent) ?? 0) + 1);
    const lastUsed = new Map<string, number>();
    for (const e of graph.entries) for (const s of entryChains.get(e.key)!.snaps) lastUsed.set(s, Math.max(lastUsed.get(s) ?? 0, e.lastUsed));
    const order = [...graph.snapshots.keys()]
      .filter((s) => lastUsed.has(s) && old(lastUsed.get(s)!))
      .sort((a, b) => lastUsed.get(a)! - lastUsed.get(b)! || graph.chain(b).length - graph.chain(a).length);
    for (const s of order) {
      if (over()) break;
      if ((children.get(s) ?? 0) > 0 || snapshots.has(s) || held.snapshots.has(s) || !graph.chain(s).every(stored)) continue;
      dropSnapshot(s);
      const parent = graph.snapshots.get(s)!.parent;
      if (parent !== undefined) children.set(parent, children.get(parent)! - 1);
    }
  }
  // then entries, least recently used first
  const taggedLayer = (snapshot: string | undefined) => snapshot !== undefined && graph.layers(snapshot).some((d) => graph.tagged.has(d));
  for (const e of graph.entries) {
    if (over()) break;
    if (held.cacheKeys.has(e.key) || !old(e.lastUsed) || (!sel.all && taggedLayer(e.snapshot))) continue;
    entries.push(e.key);
    const c = entryChains.get(e.key)!;
    for (const s of c.snaps) {
      const n = snapRefs.get(s)! - 1;
      snapRefs.set(s, n);
      if (n === 0) dropSnapshot(s);
    }
    for (const d of c.blobs) {
      const n = blobRefs.get(d)! - 1;
      blobRefs.set(d, n);
      if (n === 0) dropBlob(d);
    }
  }

  // a snapshot kept holds its parents, whatever the counts said
  for (const s of graph.snapshots.keys()) {
    if (snapshots.has(s)) continue;
    for (const p of graph.chain(s).slice(1)) {
      if (snapshots.delete(p)) freed -= snapSize(p);
    }
  }
  const ordered = [...snapshots].sort((a, b) => graph.chain(b).length - graph.chain(a).length);

  // layer rows whose blobs are all gone, of snapshots gone too
  const rowNames = new Set<string>([...snapshots, ...entries.flatMap((k) => entryChains.get(k)!.snaps)]);
  const layerRows = [...rowNames].filter((s) => (snapshots.has(s) || !graph.snapshots.has(s)) && graph.layers(s).length > 0 && graph.layers(s).every((d) => blobs.has(d) || !usage.blobs.has(d)));

  const logs = [...usage.logs].filter(([name, g]) => snapshots.has(name) || (!graph.snapshots.has(name) && !usage.snapshots.has(name) && g.modified < now - graceMs && old(g.modified))).map(([name]) => name);
  for (const name of logs) if (!snapshots.has(name)) freed += usage.logs.get(name)!.size;
  const cacheMounts = sel.all && sel.cacheMountsFree ? [...usage.cacheMounts].filter(([, g]) => old(g.modified)).map(([name]) => name) : [];
  for (const name of cacheMounts) freed += usage.cacheMounts.get(name)!.size;
  return { entries, snapshots: ordered, blobs: [...blobs], layerRows, logs, cacheMounts, freed };
}
