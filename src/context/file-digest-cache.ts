// The persistent stat cache of DESIGN.md "Cache keys": a file's digest by (dev, inode, size, mtime,
// ctime), so a rebuild hashes an unchanged context from lstat alone. Kept in the metadata db
// (table file_digests), so it survives between builds and is shared by processes on one root.
//
// ctime moves on every write, chmod, chown, rename and link, and cannot be set by a user, so a
// matching (dev, inode, size, mtime, ctime) means the same bytes, except for a write landing within
// the filesystem's timestamp granularity of the read. Racy-git's answer: a file changed less than
// `settle` before it was read is not remembered, so it is read again next time.
//
// The table is read whole at a checksum's first lookup and let go when the checksum is done
// (flush): one SELECT of 20,000 rows takes ~20 ms where a query per file takes ~8 µs each plus the
// JavaScript around it, and a read whose fingerprint missed asks about every file. A table too large for that (many big contexts on one root) is asked per file.
import type { BigIntStats } from 'node:fs';
import { transaction, type Database } from '../state/index.ts';

export interface FileDigestCache {
  /** The sha256 hex remembered for this exact stat, if any. */
  get(stat: BigIntStats): string | undefined;
  /** Remembers the digest of the bytes read for `stat` (skipped for a file changed just before). */
  set(stat: BigIntStats, hex: string): void;
  /**
   * Writes what `set` remembered and has not written yet, and lets go of the rows read into memory
   * (the next `get` reads them again); call once a checksum is done, so the steps that run after it
   * do not hold ~200 bytes a row of the table.
   */
  flush(): void;
}

// Far above any filesystem's timestamp granularity (jiffies, 1-10 ms; 2 s only on FAT).
const settleNs = 2_000_000_000n;
// Above this many rows the table is asked per file: reading it whole would cost more than it saves
// for a context of ordinary size, and hold the rows of every other context in memory (~150 bytes each).
const wholeTableLimit = 200_000;

// Rows remembered before they are written: one commit per batch.
const flushEvery = 2000;

interface Row {
  stat: string;
  digest: string;
}

export interface FileDigestCacheOptions {
  /** Above this many rows the table is asked per file instead of read whole (default 200,000). */
  wholeTableLimit?: number;
}

export function openFileDigestCache(db: Database, opts: FileDigestCacheOptions = {}): FileDigestCache {
  const select = db.prepare('SELECT digest FROM file_digests WHERE file = ? AND stat = ?');
  const upsert = db.prepare('INSERT INTO file_digests (file, stat, digest) VALUES (?, ?, ?) ON CONFLICT (file) DO UPDATE SET stat = excluded.stat, digest = excluded.digest');
  const pending: [string, string, string][] = [];
  // the whole table by file, or null when it is asked per file
  let known: Map<string, Row> | null | undefined;
  const load = (): Map<string, Row> | null => {
    const { n } = db.prepare('SELECT count(*) AS n FROM file_digests').get() as { n: number };
    if (n > (opts.wholeTableLimit ?? wholeTableLimit)) return null;
    const all = new Map<string, Row>();
    // row by row: an array of every row first was one more copy of the table in memory at once
    for (const row of db.prepare('SELECT file, stat, digest FROM file_digests').iterate() as Iterable<Row & { file: string }>) all.set(row.file, { stat: row.stat, digest: row.digest });
    return all;
  };
  const write = () => {
    if (pending.length === 0) return;
    // one transaction for the lot: a commit per file would cost more than reading small files
    transaction(db, () => {
      for (const p of pending) upsert.run(...p);
    });
    pending.length = 0;
  };
  return {
    get(s) {
      known ??= load();
      if (known === null) return (select.get(fileOf(s), statOf(s)) as { digest: string } | undefined)?.digest;
      const row = known.get(fileOf(s));
      return row !== undefined && row.stat === statOf(s) ? row.digest : undefined;
    },
    set(s, hex) {
      const newest = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
      if (BigInt(Date.now()) * 1_000_000n - newest < settleNs) return;
      pending.push([fileOf(s), statOf(s), hex]);
      known?.set(fileOf(s), { stat: statOf(s), digest: hex });
      // written as they come, a batch at a time: a cold read of 20,000 files held them all until its end
      if (pending.length >= flushEvery) write();
    },
    flush() {
      write();
      known = undefined;
    },
  };
}

// text, not integers: inode numbers on overlayfs (xino) use all 64 bits, past SQLite's signed range
function fileOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}`;
}

function statOf(s: BigIntStats): string {
  return `${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}
