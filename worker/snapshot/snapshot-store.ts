// Committed snapshots on disk, shared by every snapshotter: `<snapshots>/<name>/fs` holds the
// snapshot's own files in overlay upper-dir form (whiteouts as char 0/0 devices, opaque dirs by
// the trusted.overlay.opaque xattr), its record (parent, layer blob) is in snapshot-metadata.ts.
// The overlay snapshotter stacks these dirs as lowerdirs; the copying one also keeps a whole tree.
import { existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { Database } from '../../src/state/index.ts';
import { createSnapshotMetadata, type SnapshotMetadata } from './snapshot-metadata.ts';
import type { SnapshotInfo, SnapshotUsage } from './snapshotter.ts';

export interface SnapshotStore {
  readonly meta: SnapshotMetadata;
  readonly snapshotsDir: string;
  /** `<snapshots>/<name>`: everything of one snapshot lives below it. */
  dir(name: string): string;
  /** The committed snapshot's own files in overlay upper-dir form. Read only. */
  diffDir(name: string): string;
  info(name: string): SnapshotInfo | undefined;
  exists(name: string): boolean;
  chain(name: string): string[];
  walk(): SnapshotInfo[];
  /**
   * Moves `dir` (holding `fs/`, the diff) into place as the committed `name` on `parent`. Another
   * process may have committed the same name meanwhile: same name, same content, so that is success.
   */
  importDir(name: string, parent: string | undefined, dir: string): Promise<void>;
  /** Drops the record, then the files. Missing is fine. */
  remove(name: string): Promise<void>;
}

export function createSnapshotStore(opts: { snapshotsDir: string; db: Database }): SnapshotStore {
  const { snapshotsDir } = opts;
  mkdirSync(snapshotsDir, { recursive: true });
  const meta = createSnapshotMetadata(opts.db);
  const dir = (name: string) => join(snapshotsDir, name);
  const info = (name: string): SnapshotInfo | undefined => {
    const r = meta.get(name);
    return r && { name, parent: r.parent, kind: 'committed', created: r.created };
  };
  return {
    meta,
    snapshotsDir,
    dir,
    diffDir: (name) => join(dir(name), 'fs'),
    info,
    exists: (name) => meta.get(name) !== undefined && existsSync(join(dir(name), 'fs')),
    chain(name) {
      const names: string[] = [];
      const seen = new Set<string>();
      for (let cur: string | undefined = name; cur !== undefined; ) {
        const r = meta.get(cur);
        if (!r) throw new TsbuildError(`snapshot ${cur} is not committed`, { code: ErrorCodes.STATE_ERROR, kind: 'not-found' });
        if (seen.has(cur)) throw new TsbuildError(`snapshot ${name}: its parents form a loop at ${cur}`, { code: ErrorCodes.STATE_ERROR, kind: 'internal' });
        seen.add(cur);
        names.push(cur);
        cur = r.parent;
      }
      return names.reverse();
    },
    walk: () => meta.all().map((r) => ({ name: r.name, parent: r.parent, kind: 'committed', created: r.created })),
    async importDir(name, parent, from) {
      try {
        await rename(from, dir(name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
        await rm(from, { recursive: true, force: true });
      }
      meta.add(name, parent);
    },
    async remove(name) {
      meta.delete(name);
      await rm(dir(name), { recursive: true, force: true });
    },
  };
}

/**
 * Snapshot dirs below `snapshotsDir` without a record: what a killed process left of its active
 * snapshots (start-up recovery removes them, worker/recover.ts). Snapshot dirs are named by hex keys
 * and names; dot-names are a snapshotter's own (`.empty`, the lower of a base-less overlay).
 */
export function unrecordedDirs(snapshotsDir: string, db: Database): string[] {
  let names: string[];
  try {
    names = readdirSync(snapshotsDir);
  } catch {
    return [];
  }
  const recorded = createSnapshotMetadata(db).names();
  return names.filter((n) => /^[0-9a-f]+$/.test(n) && !recorded.has(n)).map((n) => join(snapshotsDir, n));
}

/** An entry's (dev, inode) exactly, or undefined when it is gone. */
function idOf(p: string): string | undefined {
  const s = lstatSync(p, { bigint: true, throwIfNoEntry: false });
  return s && `${s.dev}:${s.ino}`;
}

/** Bytes and inodes below `dir` (hard links counted once), without following links. */
export function diskUsage(dir: string): SnapshotUsage {
  // only a directory (a mount) or an inode with more than one link can be met twice: the others are
  // counted without a key kept for each (a 20,000-file snapshot's walk made ~50 MB of garbage, bigint stats, keys and
  // joined paths, while a build's COPY had it at its peak of memory)
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const p = stack.pop()!;
    let s;
    try {
      s = lstatSync(p);
    } catch {
      continue;
    }
    if (s.nlink > 1 || s.isDirectory()) {
      // inode numbers on overlayfs (xino) may pass 2^53, where a double is not exact
      const id = s.ino <= Number.MAX_SAFE_INTEGER ? `${s.dev}:${s.ino}` : idOf(p);
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
    }
    inodes++;
    size += s.blocks * 512;
    if (s.isDirectory()) for (const n of readdirSync(p)) stack.push(p.endsWith('/') ? p + n : `${p}/${n}`);
  }
  return { size, inodes };
}
