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
import type { Database } from '../src/state/index.ts';
import type { LayerRecord, Worker } from '../worker/index.ts';

/** What a cache key was made of (solver/cache-key.ts). */
export interface KeyParts {
  /** sha256 of the op as the key sees it, without its inputs' keys. */
  op: string;
  /** The keys of its inputs, in order. */
  inputs: readonly string[];
  /** Content checksums of what it reads from local sources; resolved digests of remote ones. */
  content: readonly string[];
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
}

interface Row {
  snapshot: string | null;
  op_digest: string | null;
  inputs: string | null;
  content: string | null;
}

export function openCacheIndex(db: Database, worker: Pick<Worker, 'exists' | 'storedLayers'>): CacheIndex {
  const get = db.prepare('SELECT snapshot, op_digest, inputs, content FROM cache WHERE key = ?');
  const put = db.prepare(
    `INSERT INTO cache (key, snapshot, op_digest, inputs, content, created, last_used) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET snapshot = excluded.snapshot, last_used = excluded.last_used,
       op_digest = coalesce(excluded.op_digest, op_digest), inputs = coalesce(excluded.inputs, inputs), content = coalesce(excluded.content, content)`,
  );
  const sameOp = db.prepare('SELECT key, inputs, content, last_used FROM cache WHERE op_digest = ? ORDER BY last_used DESC LIMIT ?');
  const use = db.prepare('UPDATE cache SET last_used = ? WHERE key = ?');
  const describe = db.prepare('UPDATE cache SET description = ? WHERE key = ?');

  const partsOf = (r: { op_digest: string | null; inputs: string | null; content: string | null }): KeyParts | undefined =>
    r.op_digest !== null && r.inputs !== null && r.content !== null ? { op: r.op_digest, inputs: JSON.parse(r.inputs) as string[], content: JSON.parse(r.content) as string[] } : undefined;

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
      return rows.flatMap((r) => {
        const p = partsOf({ ...r, op_digest: parts.op });
        return p ? [{ key: r.key, parts: p, lastUsed: r.last_used }] : [];
      });
    },
    record(key, result) {
      const now = Date.now();
      const p = result.parts;
      put.run(key, result.snapshot ?? null, p?.op ?? null, p ? JSON.stringify(p.inputs) : null, p ? JSON.stringify(p.content) : null, now, now);
    },
    touch(keys) {
      const now = Date.now();
      for (const k of keys) use.run(now, k);
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
