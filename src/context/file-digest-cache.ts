// The persistent stat cache of DESIGN.md "Cache keys": a file's digest by (dev, inode, size, mtime,
// ctime), so a rebuild hashes an unchanged context from lstat alone. Kept in the metadata db
// (table file_digests), so it survives between builds and is shared by processes on one root.
//
// ctime moves on every write, chmod, chown, rename and link, and cannot be set by a user, so a
// matching (dev, inode, size, mtime, ctime) means the same bytes, except for a write landing within
// the filesystem's timestamp granularity of the read. Racy-git's answer: a file changed less than
// `settle` before it was read is not remembered, so it is read again next time.
import type { BigIntStats } from 'node:fs';
import { transaction, type Database } from '../state/index.ts';

export interface FileDigestCache {
  /** The sha256 hex remembered for this exact stat, if any. */
  get(stat: BigIntStats): string | undefined;
  /** Remembers the digest of the bytes read for `stat` (skipped for a file changed just before). */
  set(stat: BigIntStats, hex: string): void;
  /** Writes what `set` remembered; call once a checksum is done. */
  flush(): void;
}

// Far above any filesystem's timestamp granularity (jiffies, 1-10 ms; 2 s only on FAT).
const settleNs = 2_000_000_000n;

export function openFileDigestCache(db: Database): FileDigestCache {
  const select = db.prepare('SELECT digest FROM file_digests WHERE file = ? AND stat = ?');
  const upsert = db.prepare('INSERT INTO file_digests (file, stat, digest) VALUES (?, ?, ?) ON CONFLICT (file) DO UPDATE SET stat = excluded.stat, digest = excluded.digest');
  const pending: [string, string, string][] = [];
  return {
    get(s) {
      const row = select.get(fileOf(s), statOf(s)) as { digest: string } | undefined;
      return row?.digest;
    },
    set(s, hex) {
      const newest = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
      if (BigInt(Date.now()) * 1_000_000n - newest < settleNs) return;
      pending.push([fileOf(s), statOf(s), hex]);
    },
    flush() {
      if (pending.length === 0) return;
      // one transaction for the lot: a commit per file would cost more than reading small files
      transaction(db, () => {
        for (const p of pending) upsert.run(...p);
      });
      pending.length = 0;
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
