// The local cache index: cache key → committed snapshot, in the `cache` table of the metadata db.
import type { Database } from '../src/state/index.ts';
import type { CacheEntry } from './plan.ts';

export interface CacheIndex {
  /** The entry for `key` when its snapshot still exists. Does not touch last_used. */
  lookup(key: string): CacheEntry | undefined;
  /** Records (or replaces) the result of `key`. Idempotent. */
  record(key: string, snapshot: string | undefined): void;
  /** Marks entries as used now, for LRU pruning. */
  touch(keys: readonly string[]): void;
}

export function openCacheIndex(db: Database, snapshotExists: (id: string) => boolean): CacheIndex {
  const get = db.prepare('SELECT snapshot FROM cache WHERE key = ?');
  const put = db.prepare(
    'INSERT INTO cache (key, snapshot, created, last_used) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET snapshot = excluded.snapshot, last_used = excluded.last_used',
  );
  const use = db.prepare('UPDATE cache SET last_used = ? WHERE key = ?');
  return {
    lookup(key) {
      const row = get.get(key) as { snapshot: string | null } | undefined;
      if (!row) return undefined;
      if (row.snapshot !== null && !snapshotExists(row.snapshot)) return undefined;
      return { snapshot: row.snapshot ?? undefined };
    },
    record(key, snapshot) {
      const now = Date.now();
      put.run(key, snapshot ?? null, now, now);
    },
    touch(keys) {
      const now = Date.now();
      for (const k of keys) use.run(now, k);
    },
  };
}
