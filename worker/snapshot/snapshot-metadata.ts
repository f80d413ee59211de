// The one module that reads and writes the `snapshots` and `snapshot_blobs` tables
// (src/state/db.ts): a committed snapshot's parent, and the layer blobs recorded for its diff, one
// per compression. Blob rows outlive their snapshot and name its parent: when GC removes a chain of
// snapshots, a cache entry that named its top is unpacked again from the blobs (docs/cache-keys.md
// "The cache index").
import type { LayerBlob } from '../../src/image/index.ts';
import { transientWrite, type Database } from '../../src/state/index.ts';

export type Compression = 'gzip' | 'uncompressed' | 'zstd';
/** A row's key: the compression, with `-LEVEL` when made at a level other than the default (`gzip-9`). */
export type BlobVariant = Compression | `${Compression}-${number}`;

export interface SnapshotRecord {
  name: string;
  parent: string | undefined;
  created: number;
}

export interface SnapshotMetadata {
  get(name: string): SnapshotRecord | undefined;
  /** Records `name` as committed on `parent`. Idempotent: an existing record is kept. */
  add(name: string, parent: string | undefined): void;
  /** Drops the snapshot's record; its blob rows stay (see the file's head). */
  delete(name: string): void;
  /**
   * Records the layer blob of `name` (committed on `parent`) in `compression`. `replace: false` keeps
   * a blob recorded before (the first writer wins, so an unpacked layer keeps the image's original
   * blob); `true` sets it whatever was there.
   */
  /**
   * `derived`: the blob was made here from the diff (a compression of its tar), so its row is
   * transient: lost to a power cut, the diff is compressed again to the same bytes. An image's own
   * blob (unpacked from a registry's) and the diff's tar are not.
   */
  setBlob(name: string, parent: string | undefined, compression: BlobVariant, blob: LayerBlob, opts: { replace: boolean; derived?: boolean }): void;
  /** The blobs recorded for `name` by compression, and its parent, whether or not the snapshot itself still exists. */
  blobs(name: string): { parent: string | undefined; blobs: Record<string, LayerBlob> };
  /** A snapshot one of whose recorded blobs is `digest` (its rows outlive it), or undefined. */
  snapshotOf(digest: string): string | undefined;
  /** Drops the blob rows of `name` (GC, once it removes the blobs themselves). */
  deleteBlobs(name: string): void;
  /** The names (other than snapshots') whose rows match the GLOB `pattern`, with their blobs' digests (the clamped layers of a diff, ../layer/clamped-layer.ts). */
  blobNamesLike(pattern: string): { name: string; digest: string }[];
  /** Every committed name. */
  names(): Set<string>;
  /** No snapshot is recorded: a new root (or one pruned bare). */
  isEmpty(): boolean;
  all(): SnapshotRecord[];
}

interface Row {
  id: string;
  parent: string | null;
  created: number;
}

interface BlobRow {
  parent: string | null;
  compression: BlobVariant;
  diff_id: string;
  digest: string;
  size: number;
  media_type: string;
  empty: number;
}

export function createSnapshotMetadata(db: Database): SnapshotMetadata {
  const getRow = db.prepare('SELECT id, parent, created FROM snapshots WHERE id = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO snapshots (id, parent, created) VALUES (?, ?, ?)');
  const del = db.prepare('DELETE FROM snapshots WHERE id = ?');
  const getBlobs = db.prepare('SELECT parent, compression, diff_id, digest, size, media_type, empty FROM snapshot_blobs WHERE snapshot = ?');
  const putBlob = db.prepare(
    'INSERT INTO snapshot_blobs (snapshot, parent, compression, diff_id, digest, size, media_type, empty) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(snapshot, compression) DO UPDATE SET parent = excluded.parent, diff_id = excluded.diff_id, digest = excluded.digest, size = excluded.size, media_type = excluded.media_type, empty = excluded.empty',
  );
  const putBlobOnce = db.prepare('INSERT OR IGNORE INTO snapshot_blobs (snapshot, parent, compression, diff_id, digest, size, media_type, empty) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const delBlobs = db.prepare('DELETE FROM snapshot_blobs WHERE snapshot = ?');
  const byDigest = db.prepare('SELECT snapshot FROM snapshot_blobs WHERE digest = ? LIMIT 1');
  const namesLike = db.prepare('SELECT snapshot AS name, digest FROM snapshot_blobs WHERE snapshot GLOB ?');
  const toRecord = (r: Row): SnapshotRecord => ({ name: r.id, parent: r.parent ?? undefined, created: r.created });
  return {
    get(name) {
      const r = getRow.get(name) as Row | undefined;
      return r && toRecord(r);
    },
    add: (name, parent) => void insert.run(name, parent ?? null, Date.now()),
    delete: (name) => void del.run(name),
    setBlob(name, parent, compression, b, opts) {
      const write = () => void (opts.replace ? putBlob : putBlobOnce).run(name, parent ?? null, compression, b.diffId, b.digest, b.size, b.mediaType, b.empty ? 1 : 0);
      // counted as transient, a push that made only such blobs leaves the database to its exit,
      // without the close's checkpoint fsyncs (src/state/db.ts leaveOpenAtExit); a process that
      // changed anything else closes and syncs it all
      if (opts.derived && compression !== 'uncompressed') transientWrite(db, write);
      else write();
    },
    blobs(name) {
      const out: Record<string, LayerBlob> = {};
      let parent: string | undefined;
      for (const r of getBlobs.all(name) as unknown as BlobRow[]) {
        out[r.compression] = { diffId: r.diff_id, digest: r.digest, size: r.size, mediaType: r.media_type, empty: r.empty === 1 };
        parent = r.parent ?? undefined;
      }
      return { parent, blobs: out };
    },
    snapshotOf: (digest) => (byDigest.get(digest) as { snapshot: string } | undefined)?.snapshot,
    deleteBlobs: (name) => void delBlobs.run(name),
    blobNamesLike: (pattern) => namesLike.all(pattern) as unknown as { name: string; digest: string }[],
    isEmpty: () => db.prepare('SELECT 1 FROM snapshots LIMIT 1').get() === undefined,
    names: () => new Set((db.prepare('SELECT id FROM snapshots').all() as { id: string }[]).map((r) => r.id)),
    all: () => (db.prepare('SELECT id, parent, created FROM snapshots ORDER BY created, id').all() as unknown as Row[]).map(toRecord),
  };
}
