// A state root made by a tsbuild before the cache index kept results (schema version 2) opens with
// its cache entries and layer blobs kept: the blob columns of `snapshots` become one row per
// compression, and a cache entry no longer stops its snapshot from being removed.
import test from 'ava';
import { DatabaseSync } from 'node:sqlite';
import { openDatabase, statePaths } from '../../src/state/index.ts';
import { createSnapshotMetadata } from '../../worker/snapshot/snapshot-metadata.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

// the schema as released at version 2 (src/state/db.ts migrations 0 and 1)
const version2 = `
  CREATE TABLE tags (name TEXT PRIMARY KEY, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL);
  CREATE TABLE snapshots (id TEXT PRIMARY KEY, parent TEXT REFERENCES snapshots(id), diff_id TEXT, blob_digest TEXT, blob_size INTEGER, blob_media_type TEXT, empty INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
  CREATE TABLE cache (key TEXT PRIMARY KEY, snapshot TEXT REFERENCES snapshots(id), created INTEGER NOT NULL, last_used INTEGER NOT NULL);
  CREATE INDEX snapshots_parent ON snapshots(parent);
  CREATE TABLE file_digests (file TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL);
  PRAGMA user_version = 2;`;

test('a version 2 database keeps its cache entries and layer blobs, one row per compression', (t) => {
  const root = tempDir('tsbuild-migrate-');
  const path = statePaths(root).db;
  try {
    const old = new DatabaseSync(path);
    old.exec(version2);
    old.prepare('INSERT INTO snapshots (id, parent, diff_id, blob_digest, blob_size, blob_media_type, empty, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('aa', null, 'sha256:d1', 'sha256:b1', 10, 'application/vnd.oci.image.layer.v1.tar+gzip', 0, 1);
    old.prepare('INSERT INTO snapshots (id, parent, diff_id, blob_digest, blob_size, blob_media_type, empty, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('bb', 'aa', null, null, null, null, 0, 2);
    old.prepare('INSERT INTO cache (key, snapshot, created, last_used) VALUES (?, ?, ?, ?)').run('sha256:k', 'bb', 3, 4);
    old.close();

    const db = openDatabase(path);
    try {
      const meta = createSnapshotMetadata(db);
      t.deepEqual(meta.blobs('aa'), { parent: undefined, blobs: { gzip: { diffId: 'sha256:d1', digest: 'sha256:b1', size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false } } });
      t.deepEqual(meta.blobs('bb'), { parent: undefined, blobs: {} });
      t.deepEqual(db.prepare('SELECT key, snapshot, created, last_used FROM cache').all().map((r) => ({ ...r })), [{ key: 'sha256:k', snapshot: 'bb', created: 3, last_used: 4 }]);
      // GC may now remove a snapshot a cache entry names (the entry is unpacked from blobs later)
      meta.delete('bb');
      meta.delete('aa');
      t.deepEqual(meta.blobs('aa').blobs.gzip?.digest, 'sha256:b1', 'blob rows outlive the snapshot');
      t.is((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version >= 3, true, 'migrated past the cache rebuild');
    } finally {
      db.close();
    }
  } finally {
    removeDir(root);
  }
});
