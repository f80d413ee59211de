// A COPY result's layer tar from the tar of the last build of the same step. A one-file edit of a
// 20,000-file context re-runs the COPY, whose new snapshot hard-links every unchanged file from the
// last result (worker/file/copy-reuse.ts); tarring it again read all 20,000 files one by one (an
// open, fstat, read and close each: ~0.4 s of a 0.7 s tar here), to make bytes the last result's
// stored tar already holds. Here those bytes are read from that tar in long runs instead.
//
// How, and why the bytes are the same:
// - Tarring a COPY result (one with a copy manifest) also writes `tar-index` beside its diff dir:
//   for every entry, its name, the fields its header is made of (and for a regular file its inode),
//   and where its bytes (header blocks, content, padding) lie in the stored tar.
// - A COPY result that linked files from the last one names it in `tar-base`. When its own tar is
//   made, an entry whose name and fields equal the base's index entry is copied from the base's
//   stored tar. The header is a function of the name and those fields (layer-tar.ts's encoder, whose
//   output for a set of probe headers is part of the index's stamp, so another encoder never uses an
//   old index). A regular file's content is its inode's: the same inode, on the same filesystem,
//   while the base snapshot still exists (so its inode numbers are held, never reused), is the same
//   immutable file of a committed snapshot.
// - Anything that does not check takes the full path: no index, another stamp, another filesystem
//   or a base diff dir that is not the one indexed (a restored root: other inode numbers),
//   an index whose own digest or blob size is wrong (a torn write: it is kept without fsync), a base
//   snapshot or blob that is gone. The result is always the tar a full walk gives; only its cost changes.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { alignedBuffer, directReadFits, openDirect } from '../../src/content/index.ts';
import { join } from 'node:path';
import { copyManifestName } from '../file/copy-reuse.ts';
import { encodeTarHeader, type TarHeader } from './tar-header.ts';

/** Beside a COPY result's diff dir: where its tar's entries lie in its stored tar. */
export const tarIndexName = 'tar-index';
/** Beside a COPY result's diff dir: the snapshot it linked files from, whose tar it may read. */
export const tarBaseName = 'tar-base';

const indexHeader = 'tsbuild tar index v1';

/** An earlier tar of the same step, open for reading: where an entry with these fields lies in it. */
export interface TarBase {
  readonly fd: number;
  /**
   * The same file opened with O_DIRECT, while direct reads work: the stored tar was mostly written
   * past the page cache (src/content/blob-file.ts), and reading it through the cache took a page for
   * every 4 KiB, which on this VM costs a host fault each: 0.54 s for 210 MB, against 0.15 s.
   */
  directFd: number | undefined;
  find(name: string, key: string): { off: number; len: number } | undefined;
}

/** A chunk buffer that direct reads of `base` accept, or undefined when none is (then direct reads stop). */
export function directChunk(base: TarBase): Buffer | undefined {
  if (base.directFd === undefined) return undefined;
  const chunk = alignedBuffer(base.directFd);
  if (!chunk) stopDirect(base);
  return chunk;
}

function stopDirect(base: TarBase): void {
  if (base.directFd !== undefined) closeSync(base.directFd);
  base.directFd = undefined;
}

/** Reads `len` bytes at `pos` of the base into `buf` at `at`: directly when all of it is aligned. */
export function readBase(base: TarBase, buf: Buffer, at: number, len: number, pos: number): number {
  // a disk with sectors larger than tar's 512-byte blocks refuses: the rest is read through the cache
  if (base.directFd !== undefined && directReadFits(buf, at, len, pos)) {
    try {
      return readSync(base.directFd, buf, at, len, pos);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      stopDirect(base);
    }
  }
  return readSync(base.fd, buf, at, len, pos);
}

/** The entries of a tar being made, in order: name, fields, offset and length. */
export class TarIndex {
  readonly lines: string[] = [];

  add(name: string, key: string, off: number, len: number): void {
    this.lines.push(`${JSON.stringify(name)}\t${key}\t${off}\t${len}`);
  }
}

/**
 * The fields an entry's header bytes are made of (its extra PAX records too), and for a regular
 * file with content its inode.
 */
export function entryKey(h: TarHeader, ino: number | undefined): string {
  const base = `${h.type}:${h.mode}:${h.uid}:${h.gid}:${h.size}:${h.mtime}`;
  const extra = h.linkname !== undefined || h.devmajor !== undefined || h.pax !== undefined ? `:${JSON.stringify([h.linkname ?? null, h.devmajor ?? null, h.devminor ?? null, h.pax ?? null])}` : '';
  return ino === undefined ? base + extra : `${base}${extra}:i${ino}`;
}

let stampCache: string | undefined;

/** A digest of what the header encoder writes for entries of every shape: an index made by another encoder is not used. */
function encoderStamp(): string {
  if (stampCache) return stampCache;
  const h = createHash('sha256');
  const probes: TarHeader[] = [
    { name: 'a/b.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 12345, mtime: 1700000000 },
    { name: 'dir/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000, size: 0, mtime: 1 },
    { name: `${'long/'.repeat(30)}name`, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 2, linkname: 'target' },
    { name: 'big-ids', type: 'file', mode: 0, uid: 1 << 24, gid: 1 << 24, size: 0, mtime: 3, pax: { uid: String(1 << 24), gid: String(1 << 24) } },
    { name: 'dev', type: 'character-device', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: 4, devmajor: 1, devminor: 3 },
    { name: 'na\u00efve', type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 5, linkname: 'a/b.txt' },
  ];
  for (const p of probes) h.update(encodeTarHeader(p));
  stampCache = h.digest('hex').slice(0, 16);
  return stampCache;
}

export interface TarReuse {
  base?: TarBase;
  index: TarIndex;
  /** Keeps the index of the tar just stored as `blob` (best effort: a cache). */
  save(blob: { digest: string; size: number }): void;
  close(): void;
}

export interface TarReuseStores {
  snapshots: { dir(name: string): string; diffDir(name: string): string; exists(name: string): boolean };
  /** Where the content store keeps a blob. */
  blobPath(digest: string): string;
}

/**
 * For a COPY result about to be tarred: an index to keep, and the last result's tar to read from
 * when there is a usable one. Undefined for any other snapshot.
 */
export function prepareTarReuse(stores: TarReuseStores, id: string): TarReuse | undefined {
  const dir = stores.snapshots.dir(id);
  if (!existsSync(join(dir, copyManifestName))) return undefined;
  const self = fsIdentity(stores.snapshots.diffDir(id));
  if (!self) return undefined;
  const index = new TarIndex();
  const base = openBase(stores, dir, self.dev);
  return {
    base,
    index,
    save(blob) {
      const body = `${index.lines.join('\n')}\n`;
      const sum = createHash('sha256').update(body).digest('hex');
      const head = `${indexHeader} ${encoderStamp()} ${self.id} ${blob.digest} ${blob.size} ${sum}\n`;
      const tmp = join(dir, `.${tarIndexName}-${randomBytes(4).toString('hex')}`);
      try {
        // no fsync: a torn index fails its digest and the next tar is made in full
        writeFileSync(tmp, head + body);
        renameSync(tmp, join(dir, tarIndexName));
      } catch {
        rmSync(tmp, { force: true });
      }
    },
    close() {
      if (!base) return;
      closeSync(base.fd);
      stopDirect(base);
    },
  };
}

/** A diff dir's filesystem (`dev`) and its own identity there: device, inode and birth time. */
function fsIdentity(path: string): { dev: number; id: string } | undefined {
  const s = statSync(path, { throwIfNoEntry: false });
  return s && { dev: s.dev, id: `${s.dev}:${s.ino}:${s.birthtimeMs}` };
}

function openBase(stores: TarReuseStores, dir: string, dev: number): TarBase | undefined {
  let baseId: string;
  let text: string;
  try {
    baseId = readFileSync(join(dir, tarBaseName), 'utf8').trim();
    // the base must still exist: while it does, the inodes it shares with this snapshot are its files
    if (!/^[0-9a-f]{32,64}$/.test(baseId) || !stores.snapshots.exists(baseId)) return undefined;
    text = readFileSync(join(stores.snapshots.dir(baseId), tarIndexName), 'utf8');
  } catch {
    return undefined;
  }
  const nl = text.indexOf('\n');
  const head = text.slice(0, nl).split(' ');
  const [stamp, indexedDir, digest, size, sum] = head.slice(indexHeader.split(' ').length);
  // the base's diff dir as it was when its tar was indexed, on this snapshot's filesystem: a root
  // restored or copied since has other inode numbers, which the index must not be taken to name
  const baseDir = fsIdentity(stores.snapshots.diffDir(baseId));
  if (text.slice(0, nl).startsWith(`${indexHeader} `) === false || stamp !== encoderStamp() || !baseDir || indexedDir !== baseDir.id || baseDir.dev !== dev || !/^sha256:[0-9a-f]{64}$/.test(digest ?? '')) return undefined;
  const body = text.slice(nl + 1);
  if (createHash('sha256').update(body).digest('hex') !== sum) return undefined;
  let fd: number;
  try {
    fd = openSync(stores.blobPath(digest), 'r');
  } catch {
    return undefined;
  }
  if (fstatSync(fd).size !== Number(size)) {
    closeSync(fd);
    return undefined;
  }
  return { fd, directFd: openDirect(stores.blobPath(digest)), ...lookup(body, Number(size)) };
}

// a name JSON wrote without escapes: the text between the quotes is the name
const plainJson = /^"[^"\\\u0000-\u001f]*"$/;

/** Each name's line in the index's body, parsed only when asked for (most of a 20,000-line index is looked up once). */
function lookup(body: string, blobSize: number): Pick<TarBase, 'find'> {
  const lineOf = new Map<string, number>();
  for (let start = 0; start < body.length; ) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    const tab = body.indexOf('\t', start);
    if (tab > start && tab < end) {
      const json = body.slice(start, tab);
      let name: unknown;
      try {
        name = plainJson.test(json) ? json.slice(1, -1) : JSON.parse(json);
      } catch {
        name = undefined;
      }
      if (typeof name === 'string') lineOf.set(name, tab + 1);
    }
    start = end + 1;
  }
  return {
    find(name, key) {
      const at = lineOf.get(name);
      if (at === undefined || !body.startsWith(`${key}\t`, at)) return undefined;
      const end = body.indexOf('\n', at);
      const [off, len] = body.slice(at + key.length + 1, end < 0 ? body.length : end).split('\t').map(Number);
      if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len <= 0 || off + len > blobSize) return undefined;
      return { off, len };
    },
  };
}
