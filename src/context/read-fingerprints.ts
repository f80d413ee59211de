// The no-change shortcut of a context checksum (./checksum.ts): per context read (the directory,
// the selection and how it is hashed), the checksum it gave last time and a fingerprint of the
// stat data of every entry it walked then: path, mode, owner, (dev, inode), size, mtime and ctime,
// the same trust the file digest cache (./file-digest-cache.ts) puts in a stat. When the walk finds
// the same fingerprint, the checksum is the one kept: no file digest is looked up, no part hashed.
// That leaves a no-change rebuild one lstat per entry plus one hash over the stat data.
//
// A fingerprint is kept only when every entry had settled (its newest timestamp more than the
// file digest cache's `settle` before the walk): a write landing within the filesystem's timestamp
// granularity of the walk leaves the stat data as it was, so such a read is checked in full again.
// Rows not used for `maxAgeMs` are dropped when another is written: one row per read, ~200 bytes.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import type { Database } from '../state/index.ts';

export interface ReadFingerprints {
  /** The checksum kept for `read` when its fingerprint was `fingerprint`, if any. */
  get(read: string, fingerprint: string): string | undefined;
  /** Keeps `checksum` as what `read` gives while its fingerprint is `fingerprint`. */
  set(read: string, fingerprint: string, checksum: string): void;
}

const maxAgeMs = 30 * 24 * 3600 * 1000;

export function openReadFingerprints(db: Database): ReadFingerprints {
  const select = db.prepare('SELECT checksum FROM context_reads WHERE read = ? AND fingerprint = ?');
  const touch = db.prepare('UPDATE context_reads SET used = ? WHERE read = ? AND used < ?');
  const upsert = db.prepare('INSERT INTO context_reads (read, fingerprint, checksum, used) VALUES (?, ?, ?, ?) ON CONFLICT (read) DO UPDATE SET fingerprint = excluded.fingerprint, checksum = excluded.checksum, used = excluded.used');
  const dropOld = db.prepare('DELETE FROM context_reads WHERE used < ?');
  return {
    get(read, fingerprint) {
      const row = select.get(read, fingerprint) as { checksum: string } | undefined;
      if (!row) return undefined;
      // `used` moves a day at a time: a no-change rebuild writes nothing
      const now = Date.now();
      touch.run(now, read, now - 24 * 3600 * 1000);
      return row.checksum;
    },
    set(read, fingerprint, checksum) {
      const now = Date.now();
      upsert.run(read, fingerprint, checksum, now);
      dropOld.run(now - maxAgeMs);
    },
  };
}

/** Names one context read: the same directory, selection and hashing rules give the same name. */
export function readIdentity(read: { version: number; dir: string; src: readonly string[]; excludePatterns: readonly string[]; followSymlinks: boolean; owner: boolean; mode: boolean }): string {
  return createHash('sha256').update(JSON.stringify([read.version, read.dir, read.src, read.excludePatterns, read.followSymlinks, read.owner, read.mode])).digest('hex');
}

// Far above any filesystem's timestamp granularity, as the file digest cache's.
const settleMs = 2000;

/**
 * The fingerprint of the stat data of `entries` (each selected source's host path and what
 * `walk` finds below it), and whether every entry had settled when the walk began: only then may
 * it be kept. Stats are plain numbers, not bigints, and nothing is held: the walk makes little
 * garbage. A timestamp as a double keeps ~0.25 µs, and a kept fingerprint's entries are 2 s old:
 * any later write shows.
 */
export function fingerprintOf(selected: readonly { rel: string; host: string }[], walk: (abs: string, rel: string, visit: (abs: string, rel: string, s: Stats) => void) => void): { fingerprint: string; settled: boolean } {
  const hash = createHash('sha256');
  const startMs = Date.now();
  let text = '';
  let newest = 0;
  const visit = (_abs: string, rel: string, s: Stats) => {
    text += `${rel}\0${s.mode}\0${s.uid}:${s.gid}\0${s.dev}:${s.ino}\0${s.size}:${s.mtimeMs}:${s.ctimeMs}\0`;
    if (s.mtimeMs > newest) newest = s.mtimeMs;
    if (s.ctimeMs > newest) newest = s.ctimeMs;
    // joined ~64 KB at a time, as the checksum's parts
    if (text.length >= 65_536) {
      hash.update(text);
      text = '';
    }
  };
  for (const { rel, host } of selected) {
    text += `source ${rel}\0${host}\0`;
    walk(host, rel, visit);
  }
  hash.update(text);
  return { fingerprint: hash.digest('hex'), settled: startMs - newest >= settleMs };
}
