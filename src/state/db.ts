// The metadata database. SQLite in WAL mode: two tsbuild processes may share one root, readers
// never block the writer, and a kill -9 loses nothing that was committed.
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
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
