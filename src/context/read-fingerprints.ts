// The no-change shortcut of a context checksum (./checksum.ts): per context read (the directory,
// the selection and how it is hashed), the checksum it gave last time and a fingerprint of the
// stat data of every entry it walked then: path, mode, owner, (dev, inode), size, mtime and ctime,
// the same trust the file digest cache (./file-digest-cache.ts) puts in a stat. When the walk finds
// the same fingerprint, the checksum is the one kept: no file digest is looked up, no part hashed.
// That leaves a no-change rebuild one lstat per entry plus one hash over the stat data.
//
// A fingerprint is kept at once when every entry had settled (its newest timestamp more than
// `settleMsOf` before the walk): a write landing within the filesystem's timestamp granularity of
// the walk would leave the stat data as it was. A read with a few entries that had
// not (the file just edited before this build) is kept at `settle()`, when the build ends, once
// each of them has settled, still has the stat data the walk saw, and a file's bytes still hash
// to what the checksum used (racy git's answer): a write after that shows in the stat data.
// Rows not used for `maxAgeMs` are dropped when another is written: one row per read, ~200 bytes.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { Database } from '../state/index.ts';

export interface ReadFingerprints {
  /** The checksum kept for `read` when its fingerprint was `fingerprint`, if any. */
  get(read: string, fingerprint: string): string | undefined;
  /** Keeps `checksum` as what `read` gives while its fingerprint is `fingerprint`. */
  set(read: string, fingerprint: string, checksum: string): void;
  /** As `set`, at `settle()`, if the entries that had not settled pass its checks then. */
  setLater(read: string, fingerprint: string, checksum: string, unsettled: readonly UnsettledEntry[]): void;
  /** Keeps what `setLater` was given where its entries pass; call when the build ends (a few lstats, a few small reads). */
  settle(): void;
}

/** An entry the walk saw change less than `settle` before it, with the stat data the fingerprint has and, for a file, the sha256 hex of the bytes the checksum hashed. */
export interface UnsettledEntry {
  abs: string;
  stat: Stats;
  digest?: string;
}

const maxAgeMs = 30 * 24 * 3600 * 1000;

export function openReadFingerprints(db: Database): ReadFingerprints {
  const select = db.prepare('SELECT checksum FROM context_reads WHERE read = ? AND fingerprint = ?');
  const touch = db.prepare('UPDATE context_reads SET used = ? WHERE read = ? AND used < ?');
  const upsert = db.prepare('INSERT INTO context_reads (read, fingerprint, checksum, used) VALUES (?, ?, ?, ?) ON CONFLICT (read) DO UPDATE SET fingerprint = excluded.fingerprint, checksum = excluded.checksum, used = excluded.used');
  const dropOld = db.prepare('DELETE FROM context_reads WHERE used < ?');
  const later: { read: string; fingerprint: string; checksum: string; unsettled: readonly UnsettledEntry[] }[] = [];
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
    setLater(read, fingerprint, checksum, unsettled) {
      later.push({ read, fingerprint, checksum, unsettled });
    },
    settle() {
      for (const l of later.splice(0)) {
        try {
          if (l.unsettled.every(stillAsSeen)) this.set(l.read, l.fingerprint, l.checksum);
        } catch {
          // not kept (the database busy past its timeout): the next build reads in full
        }
      }
    },
  };
}

/** Whether an entry has settled since the walk, with the same stat data and, for a file, the same bytes. */
function stillAsSeen(e: UnsettledEntry): boolean {
  if (Date.now() - newestOf(e.stat) < settleMsOf(e.stat)) return false;
  let now: Stats;
  try {
    now = lstatSync(e.abs);
  } catch {
    return false;
  }
  if (statKey(now) !== statKey(e.stat)) return false;
  if (!now.isFile()) return true;
  return e.digest !== undefined && fileHex(e.abs) === e.digest;
}

const newestOf = (s: Stats) => Math.max(s.mtimeMs, s.ctimeMs);

// every field the fingerprint has of an entry
const statKey = (s: Stats) => `${s.mode}\0${s.uid}:${s.gid}\0${s.dev}:${s.ino}\0${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

function fileHex(abs: string): string | undefined {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(256 * 1024);
  let fd: number;
  try {
    fd = openSync(abs, 'r');
  } catch {
    return undefined;
  }
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return h.digest('hex');
      h.update(buf.subarray(0, n));
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Names one context read: the same directory, selection and hashing rules give the same name. */
export function readIdentity(read: { version: number; dir: string; src: readonly string[]; excludePatterns: readonly string[]; followSymlinks: boolean; owner: boolean; mode: boolean }): string {
  return createHash('sha256').update(JSON.stringify([read.version, read.dir, read.src, read.excludePatterns, read.followSymlinks, read.owner, read.mode])).digest('hex');
}

// How long after its newest timestamp an entry counts as settled: far above the filesystem's
// timestamp granularity. Timestamps with a fraction of a second come from a filesystem that keeps
// them finer than a second (ext4, xfs, btrfs, tmpfs, overlayfs: nanoseconds), set from the kernel's
// coarse clock, which ticks every jiffy (10 ms at most): 250 ms is 25 ticks. Whole seconds may be a
// filesystem of one- or two-second granularity (ext3, FAT), or a time set by hand: 2 s, as the file
// digest cache's. So a one-file edit whose build takes under 2 s still keeps its fingerprint at
// `settle()`, and the no-change rebuild after it is one lstat per entry.
const fineSettleMs = 250;
const coarseSettleMs = 2000;
const settleMsOf = (s: Stats) => (s.mtimeMs % 1000 !== 0 && s.ctimeMs % 1000 !== 0 ? fineSettleMs : coarseSettleMs);

// The entries a read may leave to `settle()`: past these, it is checked in full next time.
const maxUnsettled = 64;
const maxUnsettledBytes = 64 * 1024 * 1024;

// The stat numbers of up to this many entries are hashed at once, as doubles: formatting them as
// text (three doubles of timestamps and size per entry) was a quarter of a 20,000-file walk.
const batchEntries = 4096;
const statFields = 8;

/**
 * The fingerprint of the stat data of `entries` (each selected source's host path and what
 * `walk` finds below it), and the entries that had not settled when the walk began (undefined:
 * too many to check at `settle()`). Stats are plain numbers, not bigints, and nothing else is
 * held: the walk makes little garbage. A timestamp as a double keeps ~0.25 µs, and a kept
 * fingerprint's entries are 2 s old: any later write shows. The hash takes the paths as text and
 * every field `statKey` names as raw doubles, a batch of each in turn. `sawFromMs`: entries count
 * as settled from then rather than from now (an earlier walk's hash is kept with this one).
 */
export function fingerprintOf(selected: readonly { rel: string; host: string }[], walk: (abs: string, rel: string, visit: (abs: string, rel: string, s: Stats) => void) => void, sawFromMs?: number): { fingerprint: string; unsettled: UnsettledEntry[] | undefined; entries: number } {
  const hash = createHash('sha256');
  const startMs = Math.min(Date.now(), sawFromMs ?? Infinity);
  let text = '';
  const numbers = new Float64Array(batchEntries * statFields);
  const bytes = new Uint8Array(numbers.buffer);
  let n = 0;
  const flush = () => {
    // the count of numbers after the text: a path cannot pass for numbers
    hash.update(`${text}\0${n}\0`);
    hash.update(bytes.subarray(0, n * 8));
    text = '';
    n = 0;
  };
  let unsettled: UnsettledEntry[] | undefined = [];
  let unsettledBytes = 0;
  let entries = 0;
  const visit = (abs: string, rel: string, s: Stats) => {
    entries++;
    text += `${rel}\0`;
    numbers[n] = s.mode;
    numbers[n + 1] = s.uid;
    numbers[n + 2] = s.gid;
    numbers[n + 3] = s.dev;
    numbers[n + 4] = s.ino;
    numbers[n + 5] = s.size;
    numbers[n + 6] = s.mtimeMs;
    numbers[n + 7] = s.ctimeMs;
    n += statFields;
    if (unsettled && startMs - newestOf(s) < settleMsOf(s)) {
      unsettledBytes += s.isFile() ? s.size : 0;
      if (unsettled.length >= maxUnsettled || unsettledBytes > maxUnsettledBytes) unsettled = undefined;
      else unsettled.push({ abs, stat: s });
    }
    if (n + statFields > numbers.length) flush();
  };
  for (const { rel, host } of selected) {
    text += `source ${rel}\0${host}\0`;
    // a marker among the numbers too: where one source's entries end
    numbers[n] = -1;
    n++;
    if (n + statFields > numbers.length) flush();
    walk(host, rel, visit);
    if (n + statFields > numbers.length) flush();
  }
  flush();
  return { fingerprint: hash.digest('hex'), unsettled, entries };
}
