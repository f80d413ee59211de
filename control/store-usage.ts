// What a state root holds on disk, every byte of it attributed to what it belongs to: a snapshot, a
// blob, a cache mount, a step log, the database, tmp, or the rest (the probe file, the OCI
// layout's index, the directories themselves). Sizes are apparent sizes as `du -sb` counts them
// (every inode once, hard links once, directories included), so the total is the one a user checks
// with du. The walk stays on the root's filesystem: a build's overlay mounted under tmp/ is not
// counted twice.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type UsageCategory = 'database' | 'logs' | 'tmp' | 'other';

export interface FileGroup {
  size: number;
  /** The newest mtime below it (ms): when it was last written. */
  modified: number;
}

export interface StoreUsage {
  total: number;
  /** Committed and active snapshot dirs by name (snapshots/<name>). */
  snapshots: Map<string, FileGroup>;
  /** Blobs by digest (content/blobs/sha256/<hex>). */
  blobs: Map<string, FileGroup>;
  /** Cache mount dirs by dir name (cache-mounts/<name>). */
  cacheMounts: Map<string, FileGroup>;
  /** Step logs by the snapshot they belong to (logs/<name>.log). */
  logs: Map<string, FileGroup>;
  /** The rest, by category. */
  other: Record<UsageCategory, number>;
}

/** Walks `root` once. Files vanishing during the walk (a build running) are skipped. */
export function measureStore(root: string): StoreUsage {
  const usage: StoreUsage = { total: 0, snapshots: new Map(), blobs: new Map(), cacheMounts: new Map(), logs: new Map(), other: { database: 0, logs: 0, tmp: 0, other: 0 } };
  const seen = new Set<string>();
  let dev: number | undefined;
  const add = (group: Map<string, FileGroup>, name: string, size: number, mtime: number) => {
    const g = group.get(name);
    if (g) {
      g.size += size;
      g.modified = Math.max(g.modified, mtime);
    } else group.set(name, { size, modified: mtime });
  };
  // `rel`: the path components below the root, which say what the bytes belong to
  const visit = (path: string, rel: string[]) => {
    let s;
    try {
      s = lstatSync(path);
    } catch {
      return;
    }
    dev ??= s.dev;
    if (s.dev !== dev) return;
    if (s.nlink > 1 && !s.isDirectory()) {
      const id = `${s.dev}:${s.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
    }
    usage.total += s.size;
    attribute(usage, rel, s.size, s.mtimeMs, add);
    if (!s.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names) visit(join(path, n), [...rel, n]);
  };
  visit(root, []);
  return usage;
}

function attribute(usage: StoreUsage, rel: string[], size: number, mtime: number, add: (g: Map<string, FileGroup>, name: string, size: number, mtime: number) => void): void {
  const [top, second, third, fourth] = rel;
  if (top === 'snapshots' && second !== undefined && /^[0-9a-f]+$/.test(second)) return add(usage.snapshots, second, size, mtime);
  if (top === 'content' && second === 'blobs' && third === 'sha256' && fourth !== undefined) return add(usage.blobs, `sha256:${fourth}`, size, mtime);
  if (top === 'cache-mounts' && second !== undefined) return add(usage.cacheMounts, second, size, mtime);
  if (top === 'logs' && second !== undefined && second.endsWith('.log') && rel.length === 2) return add(usage.logs, second.slice(0, -4), size, mtime);
  if (top === 'logs') usage.other.logs += size;
  else if (top === 'tmp') usage.other.tmp += size;
  else if (rel.length === 1 && /^metadata\.db(-wal|-shm|-journal)?$/.test(top)) usage.other.database += size;
  else usage.other.other += size;
}
