// What references what in a state root, read once for du and prune: cache entries and the snapshot
// chains under their results, the layer blobs recorded for each snapshot, and what must be kept
// (src/state/leases.ts `held()`: running builds' leases and tags), expanded the way GC reads it —
// a held manifest (or index) holds its config and layers, a held snapshot its parents and their
// layer blobs, a held cache key its result's chain.
import type { BlobReader } from '../src/content/index.ts';
import type { Leases } from '../src/state/index.ts';
import type { CacheRecord } from '../solver/index.ts';
import type { StoredSnapshot, WorkerStorage } from '../worker/index.ts';

export interface StoreGraph {
  /** Cache entries, least recently used first. */
  entries: CacheRecord[];
  /** Committed snapshots by name. */
  snapshots: Map<string, StoredSnapshot>;
  /** `name` and its parents, top first (known from records, or layer rows once a snapshot is gone). */
  chain(name: string): string[];
  /** The layer blob digests recorded for `name`'s own diff, and those of its clamped layers (SOURCE_DATE_EPOCH). */
  layers(name: string): string[];
  /** Only the blobs of `name`'s own diff: those a removed snapshot is unpacked again from. */
  ownLayers(name: string): string[];
  /** What nothing may remove now. */
  held: { snapshots: Set<string>; blobs: Set<string>; cacheKeys: Set<string> };
  /** Blobs tagged images hold (manifests, configs, layers), with the tags naming each. */
  tagged: Map<string, string[]>;
}

// containerd's bound for a manifest: a "manifest" larger than this is not read
const maxDocumentBytes = 8 * 1024 * 1024;

export async function loadStoreGraph(parts: {
  storage: WorkerStorage;
  entries: CacheRecord[];
  leases: Leases;
  content: BlobReader;
  tags: { name: string; digest: string }[];
}): Promise<StoreGraph> {
  const { storage, content } = parts;
  const snapshots = new Map(storage.snapshots().map((s) => [s.name, s]));
  const rows = new Map<string, { parent: string | undefined; digests: string[]; derived: string[] }>();
  const rowsOf = (name: string) => {
    let r = rows.get(name);
    if (!r) rows.set(name, (r = storage.layerRows(name)));
    return r;
  };
  const chains = new Map<string, string[]>();
  const chain = (name: string): string[] => {
    const known = chains.get(name);
    if (known) return known;
    const out: string[] = [];
    const seen = new Set<string>();
    for (let cur: string | undefined = name; cur !== undefined && !seen.has(cur); ) {
      seen.add(cur);
      out.push(cur);
      cur = snapshots.has(cur) ? snapshots.get(cur)!.parent : rowsOf(cur).parent;
    }
    chains.set(name, out);
    return out;
  };
  const all = new Map<string, string[]>();
  const layers = (name: string) => {
    let known = all.get(name);
    if (!known) all.set(name, (known = [...rowsOf(name).digests, ...rowsOf(name).derived]));
    return known;
  };
  const ownLayers = (name: string) => rowsOf(name).digests;

  // a manifest or an index names further blobs; anything else (a layer, a config) names none
  const referenced = async (digest: string): Promise<string[]> => {
    const info = await content.info(digest);
    if (!info || info.size > maxDocumentBytes) return [];
    try {
      const doc = JSON.parse((await content.readBytes(digest)).toString('utf8')) as { manifests?: { digest?: unknown }[]; config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
      const ds = [...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])].map((d) => d?.digest);
      return ds.filter((d): d is string => typeof d === 'string');
    } catch {
      return [];
    }
  };
  const closure = async (roots: Iterable<string>): Promise<Set<string>> => {
    const out = new Set<string>();
    const todo = [...roots];
    while (todo.length > 0) {
      const d = todo.pop()!;
      if (out.has(d)) continue;
      out.add(d);
      todo.push(...(await referenced(d)));
    }
    return out;
  };

  const tagged = new Map<string, string[]>();
  for (const t of parts.tags) for (const d of await closure([t.digest])) tagged.set(d, [...(tagged.get(d) ?? []), t.name]);

  const leased = parts.leases.held();
  const held = { snapshots: new Set<string>(), blobs: await closure(leased.blobs), cacheKeys: leased.cacheKeys };
  const byKey = new Map(parts.entries.map((e) => [e.key, e]));
  const heldTops = [...leased.snapshots, ...[...leased.cacheKeys].flatMap((k) => (byKey.get(k)?.snapshot !== undefined ? [byKey.get(k)!.snapshot!] : []))];
  for (const top of heldTops) {
    for (const s of chain(top)) {
      held.snapshots.add(s);
      for (const d of layers(s)) held.blobs.add(d);
    }
  }
  for (const d of tagged.keys()) held.blobs.add(d);
  return { entries: parts.entries, snapshots, chain, layers, ownLayers, held, tagged };
}
