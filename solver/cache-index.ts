// The cache index: cache key → result. A result is what a step made, not a directory: the committed
// snapshot holding it when that is on this machine, and otherwise its layers as blobs (each layer's
// diffId and a blob per compression), which a hit unpacks (worker.unpackLayers) instead of running
// the step again. Each entry also keeps the parts its key was made of, so a miss can say what changed.
// See docs/cache-keys.md "The cache index".
//
// Roles: a CacheReader answers lookups (a remote cache, issue 11, is one: its entries have layers
// and no snapshot); a CacheIndex also records. The local one lives in the metadata db (`cache`;
// the blobs of each snapshot are the worker's, asked through `storedLayers`).
//
//   const cache = openCacheIndex(db, worker);
//   cache.record(key, { snapshot: id, parts });
//   cache.lookup(key);   // { snapshot: id, parts } — or, once GC removed id, { snapshot: undefined, layers: [...] }
import { decodeListing, encodeListing, type Listing } from '../src/context/index.ts';
import { transientWrite, type Database } from '../src/state/index.ts';
import type { LayerRecord, Worker } from '../worker/index.ts';

/** What a cache key was made of (solver/cache-key.ts). */
export interface KeyParts {
  /** sha256 of the op as the key sees it, without its inputs' keys. */
  op: string;
  /** The keys of its inputs, in order. */
  inputs: readonly string[];
  /** Content checksums of what it reads from local sources; resolved digests of remote ones. */
  content: readonly string[];
  /** Which Dockerfile step made it (solver/explain-miss.ts stepId): a miss is compared with the last result of the same step. */
  step?: string;
  /** The op as its key saw it, canonical JSON (bounded: explain-miss.ts), so a changed op can say which field changed. */
  opJson?: string;
}

export interface CacheEntry {
  /** The committed snapshot holding the result, when it is on this machine; undefined otherwise or for the empty filesystem. */
  snapshot: string | undefined;
  /**
   * Set when the result is not a local snapshot: its layers from the bottom up, each with a blob
   * that can be fetched or is in the content store. Empty (or absent) with no snapshot: the empty filesystem.
   */
  layers?: readonly LayerRecord[];
  /** The parts of its key, when known (entries recorded before tsbuild kept them have none). */
  parts?: KeyParts;
}

/** A result recorded for another key that the same op made: what a miss is compared with. */
export interface SimilarEntry {
  key: string;
  parts: KeyParts;
  lastUsed: number;
  /** Set for a record of an imported cache: its name (`cache-from reg/app:cache`), for messages. */
  importedFrom?: string;
}

export interface CacheReader {
  /**
   * The usable entry for `key`: its snapshot is on disk, or its layers' blobs are all available.
   * An entry whose result is gone (snapshot removed, blobs not kept) is a miss. Does not touch last_used.
   */
  lookup(key: string): CacheEntry | undefined;
  /** Whether an entry is recorded for `key` at all, usable or not (a miss can say "its result was removed"). */
  recorded(key: string): boolean;
  /** Entries of the same op (`parts.op`) under other keys, most recently used first, at most `limit`. */
  similar(parts: KeyParts, limit?: number): SimilarEntry[];
  /** The most recently used entry the same step (`parts.step`) made under another key than `key`. */
  lastOfStep?(step: string, key: string): SimilarEntry | undefined;
  /** When the result of `key` was recorded (ms since the epoch), if it is. */
  created?(key: string): number | undefined;
  /** The per-path listing of the context read whose checksum is `checksum`, when one was kept. */
  listing?(checksum: string): Listing | undefined;
  /** Brings the listings of these checksums within `listing`'s reach when they are elsewhere (an imported cache fetches them), before a plan explains its misses. */
  loadListings?(checksums: readonly string[], signal?: AbortSignal): Promise<void>;
}

export interface CacheIndex extends CacheReader {
  /**
   * Records (or replaces) the result of `key`: its snapshot (undefined: the empty filesystem) and,
   * when given, the parts of its key (kept when not given). Idempotent.
   */
  record(key: string, result: { snapshot: string | undefined; parts?: KeyParts }): void;
  /** Marks entries as used now, for LRU pruning. */
  touch(keys: readonly string[]): void;
  /** Names what the step of `key` was (its progress name), for `tsbuild du`; not part of the key. */
  describe?(key: string, description: string): void;
  /** Keeps the listing of a context read under its checksum (once; least recently written pruned past a total size). */
  keepListing(checksum: string, listing: Listing): void;
  /** Brings the blobs of an entry's layers into the content store when they are elsewhere (an imported cache, solver/imported-cache.ts). */
  ensureBlobs?(layers: readonly LayerRecord[], signal?: AbortSignal): Promise<void>;
}

// Listings are kept for explanations only: a bound on their total size (deflated) keeps the
// database small whatever the contexts; one listing past `maxListing` (a context of some
// hundred thousand files) is not kept, and its miss names no file.
const maxListings = 64 * 1024 * 1024;
const maxListing = 8 * 1024 * 1024;

interface Row {
  snapshot: string | null;
  op_digest: string | null;
  inputs: string | null;
  content: string | null;
  step: string | null;
  op_json: string | null;
}

/** `listingBytes`: the total size of kept listings (default 64 MiB). */
export function openCacheIndex(db: Database, worker: Pick<Worker, 'exists' | 'storedLayers'>, opts: { listingBytes?: number } = {}): CacheIndex {
  const listingBytes = opts.listingBytes ?? maxListings;
  const get = db.prepare('SELECT snapshot, op_digest, inputs, content, step, op_json FROM cache WHERE key = ?');
  const put = db.prepare(
    `INSERT INTO cache (key, snapshot, op_digest, inputs, content, step, op_json, created, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET snapshot = excluded.snapshot, last_used = excluded.last_used,
       op_digest = coalesce(excluded.op_digest, op_digest), inputs = coalesce(excluded.inputs, inputs), content = coalesce(excluded.content, content),
       step = coalesce(excluded.step, step), op_json = coalesce(excluded.op_json, op_json)`,
  );
  const sameOp = db.prepare('SELECT key, op_digest, inputs, content, step, op_json, last_used FROM cache WHERE op_digest = ? ORDER BY last_used DESC LIMIT ?');
  const sameStep = db.prepare('SELECT key, op_digest, inputs, content, step, op_json, last_used FROM cache WHERE step = ? AND key != ? ORDER BY last_used DESC LIMIT 1');
  const use = db.prepare('UPDATE cache SET last_used = ? WHERE key = ?');
  const describe = db.prepare('UPDATE cache SET description = ? WHERE key = ?');
  const createdAt = db.prepare('SELECT created FROM cache WHERE key = ?');
  const getListing = db.prepare('SELECT listing FROM context_listings WHERE checksum = ?');
  const putListing = db.prepare('INSERT INTO context_listings (checksum, listing, size, written) VALUES (?, ?, ?, ?) ON CONFLICT(checksum) DO UPDATE SET written = excluded.written');
  const listingsSize = db.prepare('SELECT coalesce(sum(size), 0) AS total FROM context_listings');
  const oldestListing = db.prepare('DELETE FROM context_listings WHERE checksum = (SELECT checksum FROM context_listings ORDER BY written ASC, rowid ASC LIMIT 1) RETURNING size');

  const partsOf = (r: Omit<Row, 'snapshot'>): KeyParts | undefined =>
    r.op_digest !== null && r.inputs !== null && r.content !== null
      ? {
          op: r.op_digest,
          inputs: JSON.parse(r.inputs) as string[],
          content: JSON.parse(r.content) as string[],
          ...(r.step !== null && { step: r.step }),
          ...(r.op_json !== null && { opJson: r.op_json }),
        }
      : undefined;
  const similarOf = (r: Row & { key: string; last_used: number }): SimilarEntry | undefined => {
    const p = partsOf(r);
    return p && { key: r.key, parts: p, lastUsed: r.last_used };
  };

  return {
    lookup(key) {
      const row = get.get(key) as Row | undefined;
      if (!row) return undefined;
      const parts = partsOf(row);
      if (row.snapshot === null || worker.exists(row.snapshot)) return { snapshot: row.snapshot ?? undefined, ...(parts && { parts }) };
      // the snapshot is gone (GC): usable when every layer of its chain still has a blob
      const layers = worker.storedLayers(row.snapshot);
      return layers && { snapshot: undefined, layers, ...(parts && { parts }) };
    },
    recorded: (key) => get.get(key) !== undefined,
    similar(parts, limit = 1) {
      const rows = sameOp.all(parts.op, limit) as unknown as (Row & { key: string; last_used: number })[];
      return rows.flatMap((r) => similarOf(r) ?? []);
    },
    lastOfStep(step, key) {
      const row = sameStep.get(step, key) as (Row & { key: string; last_used: number }) | undefined;
      return row && similarOf(row);
    },
    created: (key) => (createdAt.get(key) as { created: number } | undefined)?.created,
    listing(checksum) {
      const row = getListing.get(checksum) as { listing: Uint8Array } | undefined;
      return row && decodeListing(row.listing);
    },
    keepListing(checksum, listing) {
      if (getListing.get(checksum)) return;
      const data = encodeListing(listing);
      if (data.length > maxListing) return;
      putListing.run(checksum, data, data.length, Date.now());
      let total = (listingsSize.get() as { total: number }).total;
      while (total > listingBytes) {
        const gone = oldestListing.get() as { size: number } | undefined;
        if (!gone) break;
        total -= gone.size;
      }
    },
    record(key, result) {
      const now = Date.now();
      const p = result.parts;
      put.run(key, result.snapshot ?? null, p?.op ?? null, p ? JSON.stringify(p.inputs) : null, p ? JSON.stringify(p.content) : null, p?.step ?? null, p?.opJson ?? null, now, now);
    },
    touch(keys) {
      const now = Date.now();
      // a stamp a crash may lose without harm (src/state/db.ts leaveOpenAtExit)
      transientWrite(db, () => {
        for (const k of keys) use.run(now, k);
      });
    },
    describe: (key, description) => void describe.run(description, key),
  };
}

/** One row of the local cache index as du and prune see it. */
export interface CacheRecord {
  key: string;
  /** The snapshot its result was committed as (it may be gone since); undefined: the empty filesystem. */
  snapshot: string | undefined;
  created: number;
  lastUsed: number;
  /** What its step was, when recorded (CacheIndex.describe). */
  description: string | undefined;
}

/** Listing and deleting entries of the local index: what du and prune use (control/du.ts, control/prune.ts). */
export interface CacheRecords {
  /** Every entry, least recently used first. */
  list(): CacheRecord[];
  /** Deletes the entries in one transaction, skipping any `keep(key)` says is now held; returns the keys deleted. */
  delete(keys: readonly string[], keep?: (key: string) => boolean): string[];
}

export function openCacheRecords(db: Database): CacheRecords {
  const all = db.prepare('SELECT key, snapshot, created, last_used, description FROM cache ORDER BY last_used, key');
  const del = db.prepare('DELETE FROM cache WHERE key = ?');
  return {
    list: () =>
      (all.all() as unknown as { key: string; snapshot: string | null; created: number; last_used: number; description: string | null }[]).map((r) => ({
        key: r.key,
        snapshot: r.snapshot ?? undefined,
        created: r.created,
        lastUsed: r.last_used,
        description: r.description ?? undefined,
      })),
    delete(keys, keep) {
      const deleted: string[] = [];
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const k of keys) {
          if (keep?.(k)) continue;
          if (Number(del.run(k).changes) > 0) deleted.push(k);
        }
        db.exec('COMMIT');
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
      return deleted;
    },
  };
}
