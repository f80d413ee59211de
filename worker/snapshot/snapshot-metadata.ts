// The one module that reads and writes the `snapshots` table (src/state/db.ts): a committed
// snapshot's parent, and the layer blob recorded for its diff.
import type { Database } from '../../src/state/index.ts';

export interface SnapshotRecord {
  name: string;
  parent: string | undefined;
  created: number;
  /** The layer recorded for this snapshot's diff, once computed or when unpacked from an image. */
  blob: SnapshotBlob | undefined;
}

export interface SnapshotBlob {
  diffId: string;
  digest: string;
  size: number;
  mediaType: string;
  empty: boolean;
}

export interface SnapshotMetadata {
  get(name: string): SnapshotRecord | undefined;
  /** Records `name` as committed on `parent`. Idempotent: an existing record is kept. */
  add(name: string, parent: string | undefined): void;
  delete(name: string): void;
  /**
   * Records the layer blob of `name`. `replace: false` keeps a blob recorded before (the first writer
   * wins, so an unpacked layer keeps the image's original blob); `true` sets it whatever was there.
   */
  setBlob(name: string, blob: SnapshotBlob, opts: { replace: boolean }): void;
  /** Every committed name. */
  names(): Set<string>;
  all(): SnapshotRecord[];
}

interface Row {
  id: string;
  parent: string | null;
  diff_id: string | null;
  blob_digest: string | null;
  blob_size: number | null;
  blob_media_type: string | null;
  empty: number;
  created: number;
}

export function createSnapshotMetadata(db: Database): SnapshotMetadata {
  const getRow = db.prepare('SELECT * FROM snapshots WHERE id = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO snapshots (id, parent, created) VALUES (?, ?, ?)');
  const del = db.prepare('DELETE FROM snapshots WHERE id = ?');
  const setBlob = db.prepare('UPDATE snapshots SET diff_id = ?, blob_digest = ?, blob_size = ?, blob_media_type = ?, empty = ? WHERE id = ?');
  const setBlobOnce = db.prepare('UPDATE snapshots SET diff_id = ?, blob_digest = ?, blob_size = ?, blob_media_type = ?, empty = ? WHERE id = ? AND blob_digest IS NULL');
  const toRecord = (r: Row): SnapshotRecord => ({
    name: r.id,
    parent: r.parent ?? undefined,
    created: r.created,
    blob: r.diff_id && r.blob_digest && r.blob_media_type ? { diffId: r.diff_id, digest: r.blob_digest, size: r.blob_size ?? 0, mediaType: r.blob_media_type, empty: r.empty === 1 } : undefined,
  });
  return {
    get(name) {
      const r = getRow.get(name) as Row | undefined;
      return r && toRecord(r);
    },
    add: (name, parent) => void insert.run(name, parent ?? null, Date.now()),
    delete: (name) => void del.run(name),
    setBlob(name, b, opts) {
      (opts.replace ? setBlob : setBlobOnce).run(b.diffId, b.digest, b.size, b.mediaType, b.empty ? 1 : 0, name);
    },
    names: () => new Set((db.prepare('SELECT id FROM snapshots').all() as { id: string }[]).map((r) => r.id)),
    all: () => (db.prepare('SELECT * FROM snapshots ORDER BY created, id').all() as unknown as Row[]).map(toRecord),
  };
}
