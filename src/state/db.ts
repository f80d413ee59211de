// The metadata database. SQLite in WAL mode: two tsbuild processes may share one root, readers
// never block the writer, and a kill -9 loses nothing that was committed.
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { checkStateRoot } from './check-root.ts';
import { createPrivateFile, secureStateRoot } from './secure-root.ts';

export type Database = DatabaseSync;

// Each entry migrates from version i to i+1; never edit a released entry, append a new one.
const migrations: string[] = [
  `CREATE TABLE tags (
     name TEXT PRIMARY KEY,
     digest TEXT NOT NULL,
     media_type TEXT NOT NULL,
     size INTEGER NOT NULL,
     created INTEGER NOT NULL
   );
   CREATE TABLE snapshots (
     id TEXT PRIMARY KEY,
     parent TEXT REFERENCES snapshots(id),
     -- diff_id is the sha256 of the uncompressed layer tar; NULL until first exported
     diff_id TEXT,
     blob_digest TEXT,
     blob_size INTEGER,
     blob_media_type TEXT,
     -- 1 when the layer adds nothing (an empty diff): exporters drop it
     empty INTEGER NOT NULL DEFAULT 0,
     created INTEGER NOT NULL
   );
   CREATE TABLE cache (
     key TEXT PRIMARY KEY,
     snapshot TEXT REFERENCES snapshots(id),
     created INTEGER NOT NULL,
     last_used INTEGER NOT NULL
   );
   CREATE INDEX snapshots_parent ON snapshots(parent);`,
  // the stat cache of context files (src/context/file-digest-cache.ts): file is "dev:inode", stat
  // is "size:mtimeNs:ctimeNs", digest the sha256 hex of the bytes read for that stat
  `CREATE TABLE file_digests (
     file TEXT PRIMARY KEY,
     stat TEXT NOT NULL,
     digest TEXT NOT NULL
   );`,
  // The cache index holds results, not directories (docs/cache-keys.md "The cache index"):
  // - a snapshot's layer blobs, one row per compression (gzip and zstd of one diff are both kept);
  //   rows outlive their snapshot (no foreign key) and name its parent: a result whose snapshots GC
  //   removed is unpacked again from them. The blob_* columns of `snapshots` are no longer written.
  // - `cache` is rebuilt without its foreign key to snapshots, for the same reason, and keeps the
  //   parts its key was made of (op digest, input keys, content checksums: why a step missed).
  // - leases: what a running build or anything else holds, so GC never removes what is in use.
  `CREATE TABLE snapshot_blobs (
     snapshot TEXT NOT NULL,
     parent TEXT,
     compression TEXT NOT NULL,
     diff_id TEXT NOT NULL,
     digest TEXT NOT NULL,
     size INTEGER NOT NULL,
     media_type TEXT NOT NULL,
     empty INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (snapshot, compression)
   );
   CREATE INDEX snapshot_blobs_digest ON snapshot_blobs(digest);
   INSERT INTO snapshot_blobs (snapshot, parent, compression, diff_id, digest, size, media_type, empty)
     SELECT id, parent, CASE WHEN blob_media_type LIKE '%gzip' THEN 'gzip' WHEN blob_media_type LIKE '%zstd' THEN 'zstd' ELSE 'uncompressed' END,
            diff_id, blob_digest, coalesce(blob_size, 0), blob_media_type, empty
     FROM snapshots WHERE diff_id IS NOT NULL AND blob_digest IS NOT NULL AND blob_media_type IS NOT NULL;
   CREATE TABLE cache_results (
     key TEXT PRIMARY KEY,
     -- NULL: the result is the empty filesystem
     snapshot TEXT,
     op_digest TEXT,
     -- JSON arrays
     inputs TEXT,
     content TEXT,
     created INTEGER NOT NULL,
     last_used INTEGER NOT NULL
   );
   INSERT INTO cache_results (key, snapshot, created, last_used) SELECT key, snapshot, created, last_used FROM cache;
   DROP TABLE cache;
   ALTER TABLE cache_results RENAME TO cache;
   CREATE INDEX cache_op_digest ON cache(op_digest);
   CREATE INDEX cache_snapshot ON cache(snapshot);
   CREATE TABLE leases (
     id TEXT PRIMARY KEY,
     -- the process that took it (src/state/process-identity.ts), NULL when no process owns it
     owner TEXT,
     created INTEGER NOT NULL,
     -- ms since the epoch; NULL: until released
     expires INTEGER
   );
   CREATE TABLE lease_resources (
     lease TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
     -- snapshot | blob | cache
     type TEXT NOT NULL,
     id TEXT NOT NULL,
     PRIMARY KEY (lease, type, id)
   );
   CREATE INDEX lease_resources_id ON lease_resources(type, id);`,
  // what a cache entry's step was ("[stage-0 2/3] RUN make"), for `tsbuild du`; NULL when unknown
  `ALTER TABLE cache ADD COLUMN description TEXT;`,
  // Cache-miss explanations (solver/explain-miss.ts): each result names its step (a hash of the
  // Dockerfile step's name and project) and keeps its op as the key saw it (bounded JSON), so a miss
  // can say what changed since the last build of that step; a context read's per-path listing is
  // kept once per content checksum, deflated, and pruned least recently written first.
  `ALTER TABLE cache ADD COLUMN step TEXT;
   ALTER TABLE cache ADD COLUMN op_json TEXT;
   CREATE INDEX cache_step ON cache(step);
   CREATE TABLE context_listings (
     checksum TEXT PRIMARY KEY,
     listing BLOB NOT NULL,
     size INTEGER NOT NULL,
     written INTEGER NOT NULL
   );`,
  // the no-change shortcut of context checksums (src/context/read-fingerprints.ts): per context
  // read (a hash of its directory, selection and hashing rules), the fingerprint of the stat data
  // it walked and the checksum that gave; used in ms since the epoch, moved at most daily
  `CREATE TABLE context_reads (
     read TEXT PRIMARY KEY,
     fingerprint TEXT NOT NULL,
     checksum TEXT NOT NULL,
     used INTEGER NOT NULL
   );`,
  // the digest a registry has an image under (src/content/image-store.ts recordRepoDigest): the
  // store keeps built layers as tars, so the manifest a push sends (gzip layers) is not the stored
  // one; per normalised repository and digest, the image id it is, when recorded (ms)
  `CREATE TABLE repo_digests (
     repository TEXT NOT NULL,
     digest TEXT NOT NULL,
     image_id TEXT NOT NULL,
     recorded INTEGER NOT NULL,
     PRIMARY KEY (repository, digest)
   );
   CREATE INDEX repo_digests_image ON repo_digests(image_id);`,
];

/** Opens the database of the state root `dirname(path)`, making that root private first (secure-root.ts). */
export function openDatabase(path: string): Database {
  checkStateRoot(dirname(path));
  secureStateRoot(dirname(path));
  try {
    createPrivateFile(path);
    const db = new DatabaseSync(path, { timeout: 30_000 });
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    migrate(db);
    return db;
  } catch (e) {
    throw new TsbuildError(`the metadata database ${path} cannot be used: ${e instanceof Error ? e.message : String(e)}`, {
      code: ErrorCodes.STATE_ERROR,
      kind: 'precondition',
      cause: e,
      hint: 'if it is damaged, move it aside: tsbuild then starts a new cache (blobs in content/ are kept)',
    });
  }
}

function migrate(db: Database): void {
  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (current >= migrations.length) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    // re-read under the write lock: another process may have migrated meanwhile
    const v = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    for (let i = v; i < migrations.length; i++) db.exec(migrations[i]);
    db.exec(`PRAGMA user_version = ${migrations.length}`);
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

/** Run `fn` in one write transaction (BEGIN IMMEDIATE takes the write lock up front, avoiding upgrade deadlocks). */
export function transaction<T>(db: Database, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const r = fn();
    db.exec('COMMIT');
    return r;
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

// What a connection changed that need not outlive a crash: a lease's rows (gone when its build
// ends or its process dies), last-used stamps, and the row of a blob compressed here from a diff (made
// again, to the same bytes: worker/snapshot/snapshot-metadata.ts). Counted per connection, so that a process that
// changed nothing else (a no-change rebuild, a push) may leave its WAL as it is at exit (leaveOpenAtExit).
const transientChanges = new WeakMap<Database, number>();
// connections left open for the exit: referenced here so that no collection closes them earlier
const leftOpen = new Set<Database>();

const totalChangesQueries = new WeakMap<Database, StatementSync>();

function totalChanges(db: Database): number {
  let q = totalChangesQueries.get(db);
  if (!q) totalChangesQueries.set(db, (q = db.prepare('SELECT total_changes() AS n')));
  return (q.get() as { n: number }).n;
}

/** Runs `write`, counting the rows it changes (foreign key actions included) as transient. */
export function transientWrite<T>(db: Database, write: () => T): T {
  const before = totalChanges(db);
  try {
    return write();
  } finally {
    transientChanges.set(db, (transientChanges.get(db) ?? 0) + totalChanges(db) - before);
  }
}

/**
 * For a process about to exit: when `db` changed nothing but transient rows (a no-change rebuild:
 * its lease and last-used stamps), leaves it open and returns true. Closing the last connection
 * checkpoints the WAL into the database (two fsyncs) and deletes it (freeing its blocks, which
 * waits for the disk where it discards synchronously), and the next process makes a new WAL (two
 * more fsyncs): 2-7 ms of a 0.1 s rebuild. Left open, the WAL stays for the next process (SQLite
 * reads it back at open), nothing committed is lost to a kill, and what a power cut could take
 * back is only those transient rows: a process that changed anything else (a tag, a cache record,
 * a blob row) closes, and its close makes all of it durable, as before.
 */
export function leaveOpenAtExit(db: Database): boolean {
  if (!db.isOpen || db.isTransaction || totalChanges(db) !== (transientChanges.get(db) ?? 0)) return false;
  leftOpen.add(db);
  return true;
}
