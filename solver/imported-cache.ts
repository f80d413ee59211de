// Caches imported for one build (--cache-from, docs/remote-cache.md) behind the local index: a key
// the local index misses is looked up in each import, newest record first. An imported hit is a
// result made only of layer blobs: nothing is downloaded for it until a step must run on top of
// it or an output needs its bytes, when `ensureBlobs` fetches the missing ones into the content
// store (verified against their digests) just before they are unpacked. Recording, touching and
// listings stay the local index's: what a build makes or unpacks lands there.
import { decodeListing, type Listing } from '../src/context/index.ts';
import type { Descriptor } from '../src/image/index.ts';
import type { LayerRecord } from '../worker/index.ts';
import type { Vertex } from '../src/llb/index.ts';
import type { CacheEntry, CacheIndex, CacheReader, KeyParts, SimilarEntry } from './cache-index.ts';

export interface ImportedRecord {
  key: string;
  /** The result's layers, bottom first. */
  layers: readonly LayerRecord[];
  parts?: KeyParts;
  /** When the exporting build recorded it (ms since the epoch): the newest wins across imports. */
  created: number;
}

/** One imported cache: its records, and how to bring one of its blobs into the content store. */
export interface ImportedCache {
  /** As messages name it: `registry.example/app:cache`, `local:/ci/cache`. */
  name: string;
  /** A registry import's reference: a push to the same registry mounts its blobs from that repository. */
  ref?: string;
  records: ReadonlyMap<string, ImportedRecord>;
  fetch(blob: Descriptor, signal?: AbortSignal): Promise<void>;
  /** The listings of its records' context reads, by content checksum: fetched only to explain a miss. */
  listings?: ReadonlyMap<string, Descriptor>;
  /** RUN --mount=type=cache contents it carries (cache-mounts=true), by mount id. */
  mounts?: readonly { id: string; blob: Descriptor }[];
  /** diffID → when the exporting build made that layer: an image made from it gets the same times. */
  layerTimes?: ReadonlyMap<string, number>;
  /** What `fetch` brought in so far, for the build's report. */
  readonly downloaded: { blobs: number; bytes: number };
}

export interface BlobPresence {
  has(digest: string): Promise<boolean>;
  readBytes(digest: string): Promise<Buffer>;
}

/** The local index, answering from `imports` where it has no usable entry; `ensureBlobs` fetches what an imported hit needs. */
export function withImportedCaches(local: CacheIndex, imports: readonly ImportedCache[], content: BlobPresence): CacheIndex {
  if (imports.length === 0) return local;
  const find = (key: string): { record: ImportedRecord; from: ImportedCache } | undefined => {
    let best: { record: ImportedRecord; from: ImportedCache } | undefined;
    for (const from of imports) {
      const record = from.records.get(key);
      if (record && (!best || record.created > best.record.created)) best = { record, from };
    }
    return best;
  };
  const fetchedListings = new Map<string, Listing>();
  const owner = new Map<string, ImportedCache>();
  for (const from of imports) for (const r of from.records.values()) for (const l of r.layers) for (const b of l.blobs) if (!owner.has(b.digest)) owner.set(b.digest, from);
  return {
    ...local,
    lookup(key): CacheEntry | undefined {
      const hit = local.lookup(key);
      if (hit) return hit;
      const found = find(key);
      return found && { snapshot: undefined, layers: found.record.layers, ...(found.record.parts && { parts: found.record.parts }) };
    },
    recorded: (key) => local.recorded(key) || find(key) !== undefined,
    similar(parts, limit = 1): SimilarEntry[] {
      const mine = local.similar(parts, limit);
      if (mine.length >= limit) return mine;
      const theirs = imports.flatMap((from) => [...from.records.values()].filter((r) => r.parts?.op === parts.op).map((r) => ({ key: r.key, parts: r.parts!, lastUsed: r.created, importedFrom: from.name })));
      return [...mine, ...theirs.sort((a, b) => b.lastUsed - a.lastUsed)].slice(0, limit);
    },
    // a miss is explained against the last result of the same step, here or in an import
    lastOfStep(step, key) {
      const mine = local.lastOfStep?.(step, key);
      if (mine) return mine;
      let best: SimilarEntry | undefined;
      for (const from of imports) {
        for (const r of from.records.values()) {
          if (r.key !== key && r.parts?.step === step && (!best || r.created > best.lastUsed)) best = { key: r.key, parts: r.parts, lastUsed: r.created, importedFrom: from.name };
        }
      }
      return best;
    },
    created: (key) => local.created?.(key) ?? find(key)?.record.created,
    listing: (checksum) => local.listing?.(checksum) ?? fetchedListings.get(checksum),
    async loadListings(checksums, signal) {
      for (const checksum of new Set(checksums)) {
        if (fetchedListings.has(checksum) || local.listing?.(checksum)) continue;
        const from = imports.find((i) => i.listings?.has(checksum));
        const blob = from?.listings?.get(checksum);
        if (!from || !blob) continue;
        // an explanation is a courtesy: a listing that cannot be fetched leaves the miss unnamed
        try {
          if (!(await content.has(blob.digest))) await from.fetch(blob, signal);
          fetchedListings.set(checksum, decodeListing(await content.readBytes(blob.digest)));
        } catch {
          signal?.throwIfAborted();
        }
      }
    },
    async ensureBlobs(layers, signal) {
      for (const l of layers) {
        for (const b of l.blobs) {
          if (await content.has(b.digest)) continue;
          const from = owner.get(b.digest);
          if (from) await from.fetch(b, signal);
        }
      }
    },
  };
}

/** Where an imported record came from, for messages (`cache-from reg/app:cache`). */
export function importOf(imports: readonly ImportedCache[], key: string): string | undefined {
  return imports.find((i) => i.records.has(key))?.name;
}

/**
 * The listings a plan will want to explain its misses against imported records: for each step
 * whose key no cache has, the content reads of the same step's last record that differ from its own.
 */
export function missedListings(order: readonly Vertex[], keys: ReadonlyMap<string, string>, parts: ReadonlyMap<string, KeyParts>, cache: CacheReader): string[] {
  const out: string[] = [];
  for (const v of order) {
    const key = keys.get(v.digest);
    const mine = parts.get(v.digest);
    if (key === undefined || mine?.step === undefined || cache.lookup(key)) continue;
    const last = cache.lastOfStep?.(mine.step, key);
    if (!last || last.parts.content.length !== mine.content.length) continue;
    last.parts.content.forEach((sum, i) => {
      if (sum !== mine.content[i]) out.push(sum);
    });
  }
  return out;
}
