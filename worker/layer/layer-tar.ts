// A snapshot's own fs dir as an OCI layer tar. The upper dir already *is* the diff; only the
// deletion markers change form (docs: image-spec layer.md "Whiteouts"):
//   char device 0/0 NAME          → empty file `.wh.NAME`
//   dir with trusted.overlay.opaque → the dir, then an empty `.wh..wh..opq` inside it
// Entries are sorted and carry only mode, owner, mtime and content, so the same snapshot always
// gives the same bytes.
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { listOpaque } from '../snapshot/xattr.ts';
import { encodeTarHeader, type TarHeader } from './tar-header.ts';
import { directChunk, entryKey, readBase, type TarBase, type TarIndex } from './tar-reuse.ts';

export const whiteoutPrefix = '.wh.';
export const opaqueMarker = '.wh..wh..opq';

export function deviceNumbers(rdev: number): { major: number; minor: number } {
  // Linux's dev_t layout (glibc gnu_dev_major/minor)
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & ~0xfff) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & ~0xff) };
}

export function isWhiteoutDevice(s: Stats): boolean {
  return s.isCharacterDevice() && s.rdev === 0;
}

/**
 * The largest id tar-stream writes into the ustar header: it fills 6 of the field's 7 octal digits
 * (262,143), where ustar allows 2,097,151. Above it, as Go's archive/tar does past 7 digits, a
 * PAX record carries the id (the ustar field then says 777777).
 */
export const ustarMaxId = 0o777777;

// The tar is written into chunks of this size and each file is read straight into them: no stream,
// no buffer and no callback per file (with tar-stream they were most of a 20,000-file layer's CPU
// time), and memory stays bounded however large a file is.
const chunkBytes = 1024 * 1024;

/**
 * PAX records for ids the ustar header cannot hold, or undefined. (Long names and link targets
 * need no help here: tar-stream writes a PAX header with `path`/`linkpath` whenever the ustar
 * name and prefix fields cannot hold them, and always when `pax` is set.)
 */
function largeIds(s: { uid: number; gid: number }): Record<string, string> | undefined {
  if (s.uid <= ustarMaxId && s.gid <= ustarMaxId) return undefined;
  const pax: Record<string, string> = {};
  if (s.uid > ustarMaxId) pax.uid = String(s.uid);
  if (s.gid > ustarMaxId) pax.gid = String(s.gid);
  return pax;
}

/**
 * Where an entry's bytes may come from and where they go: `base` is an earlier tar of the same step
 * to copy unchanged entries from, `index` records this tar's entries (./tar-reuse.ts). Neither
 * changes a byte of the tar.
 */
export interface TarReuseOptions {
  base?: TarBase;
  index?: TarIndex;
}

/** Streams the tar of `fsDir`. `onEntry` counts entries, so callers learn whether the diff is empty. */
export function createLayerTar(fsDir: string, onEntry: () => void = () => {}, reuse: TarReuseOptions = {}): Readable {
  return Readable.from(layerTarChunks(fsDir, onEntry, reuse), { objectMode: false, highWaterMark: chunkBytes });
}

/**
 * The tar of `fsDir` in 1 MiB chunks that share two or three buffers: a chunk's memory is written
 * again once the reader asks for the next one, so the reader must be done with each chunk (hashed
 * and written it, as `for await` with an awaited write is) before it asks. A 200 MB layer then
 * costs 2 MiB instead of 200 garbage buffers that wait for V8's next collection (most of a big
 * COPY's peak memory).
 */
export function layerTarReusingChunks(fsDir: string, onEntry: () => void = () => {}, opts: TarReuseOptions & { signal?: AbortSignal } = {}): AsyncIterable<Buffer> {
  return layerTarChunks(fsDir, onEntry, { ...opts, reuse: true });
}

/** Fills fixed-size chunks with the tar's bytes; a full chunk is handed on and a new one begun. */
class ChunkWriter {
  /** Buffers the reader is done with (reuse mode): taken before allocating. */
  readonly free: Buffer[] = [];
  /** The earlier tar runs are copied from; its direct descriptor wants chunks that suit O_DIRECT. */
  readonly base: TarBase | undefined;
  chunk: Buffer;
  used = 0;
  /** Bytes written so far: where the next entry starts. */
  total = 0;
  readonly full: Buffer[] = [];

  /** Whether chunks come back to `free` (layerTarReusingChunks). */
  readonly reuse: boolean;

  constructor(base: TarBase | undefined, reuse: boolean) {
    this.base = base;
    this.reuse = reuse;
    this.chunk = this.allocate();
  }

  allocate(): Buffer {
    // only where chunks are reused: a chunk handed on for good would cost a probe read each
    return (this.reuse && this.base && directChunk(this.base)) || Buffer.allocUnsafe(chunkBytes);
  }

  write(bytes: Buffer): void {
    for (let off = 0; off < bytes.length; ) {
      const n = bytes.copy(this.chunk, this.used, off);
      off += n;
      this.advance(n);
    }
  }

  zeros(count: number): void {
    while (count > 0) {
      const n = Math.min(count, chunkBytes - this.used);
      this.chunk.fill(0, this.used, this.used + n);
      count -= n;
      this.advance(n);
    }
  }

  /** Reads `size` bytes of `fd` into the chunks, handing on each as it fills; `path` names the file when it is not that size any more. */
  *file(fd: number, size: number, path: string, hand: () => Generator<Buffer>): Generator<Buffer> {
    for (let left = size; left > 0; ) {
      const n = readSync(fd, this.chunk, this.used, Math.min(left, chunkBytes - this.used), null);
      if (n === 0) throw new Error(`${path} changed while its layer was made: ${size - left} bytes read, ${size} expected`);
      left -= n;
      this.advance(n);
      yield* hand();
    }
    // the body is padded to a whole 512-byte block
    this.zeros((512 - (size % 512)) % 512);
  }

  /** Copies `len` bytes at `off` of the base tar (a run of unchanged entries) into the chunks. */
  *range(off: number, len: number, hand: () => Generator<Buffer>): Generator<Buffer> {
    const base = this.base!;
    for (let left = len; left > 0; ) {
      const n = readBase(base, this.chunk, this.used, Math.min(left, chunkBytes - this.used), off + len - left);
      if (n === 0) throw new Error(`the earlier tar this layer reuses ended ${left} bytes early`);
      left -= n;
      this.advance(n);
      yield* hand();
    }
  }

  advance(n: number): void {
    this.total += n;
    this.used += n;
    if (this.used === chunkBytes) {
      this.full.push(this.chunk);
      this.chunk = this.free.pop() ?? this.allocate();
      this.used = 0;
    }
  }

  /** What is written but not handed on: the last, partial chunk. */
  rest(): Buffer {
    const last = this.chunk.subarray(0, this.used);
    this.used = 0;
    return last;
  }
}

async function* layerTarChunks(fsDir: string, onEntry: () => void, opts: TarReuseOptions & { reuse?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
  const opaque = await listOpaque(fsDir);
  const links = new Map<number, string>();
  const { base, index } = opts;
  const out = new ChunkWriter(base, opts.reuse === true);
  // the base's bytes still to copy: consecutive unchanged entries are one read
  let run: { off: number; len: number } | undefined;
  function* flush(): Generator<Buffer> {
    if (!run) return;
    const { off, len } = run;
    run = undefined;
    yield* out.range(off, len, handOn);
  }
  // in reuse mode a chunk is free again once the reader asks for the next (layerTarReusingChunks)
  function* handOn(): Generator<Buffer> {
    for (const chunk of out.full.splice(0)) {
      yield chunk;
      if (opts.reuse) out.free.push(chunk);
    }
  }
  /** `ino`: a regular file's inode, which stands for its content in the base's index. */
  function* add(header: TarHeader, file?: string, ino?: number): Generator<Buffer> {
    opts.signal?.throwIfAborted();
    onEntry();
    const key = base || index ? entryKey(header, file === undefined || header.size === 0 ? undefined : ino) : '';
    const start = out.total + (run?.len ?? 0);
    // an inode number a double cannot hold exactly names no file for certain: never taken from the base
    const found = ino !== undefined && !Number.isSafeInteger(ino) ? undefined : base?.find(header.name, key);
    if (found) {
      if (run && run.off + run.len === found.off) run.len += found.len;
      else {
        yield* flush();
        run = { ...found };
      }
      index?.add(header.name, key, start, found.len);
      return;
    }
    yield* flush();
    out.write(encodeTarHeader(header));
    yield* handOn();
    if (file !== undefined && header.size > 0) {
      const fd = openSync(file, 'r');
      try {
        // a file whose size changed since its lstat fails, as a stream into tar-stream's entry did
        const now = fstatSync(fd).size;
        if (now !== header.size) throw new Error(`${file} changed while its layer was made: ${now} bytes, ${header.size} expected`);
        yield* out.file(fd, header.size, file, handOn);
      } finally {
        closeSync(fd);
      }
    }
    index?.add(header.name, key, start, out.total - start);
  }
  function* walk(dir: string, rel: string): Generator<Buffer> {
    for (const name of readdirSync(dir).sort()) {
      const abs = dir.endsWith('/') ? dir + name : `${dir}/${name}`;
      const path = rel + name;
      const s = lstatSync(abs);
      const fields = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtime: Math.floor(s.mtimeMs / 1000), size: 0, pax: largeIds(s) };
      if (s.isDirectory()) {
        yield* add({ ...fields, name: `${path}/`, type: 'directory' });
        if (opaque.has(abs)) yield* add({ ...fields, name: `${path}/${opaqueMarker}`, type: 'file', mode: 0o644 });
        yield* walk(abs, `${path}/`);
      } else if (isWhiteoutDevice(s)) {
        yield* add({ ...fields, name: rel + whiteoutPrefix + name, type: 'file' });
      } else if (s.nlink > 1 && !s.isSymbolicLink() && links.has(s.ino)) {
        yield* add({ ...fields, name: path, type: 'link', linkname: links.get(s.ino)! });
      } else if (s.isFile()) {
        if (s.nlink > 1) links.set(s.ino, path);
        yield* add({ ...fields, name: path, type: 'file', size: s.size }, abs, s.ino);
      } else if (s.isSymbolicLink()) {
        yield* add({ ...fields, name: path, type: 'symlink', linkname: readlinkSync(abs) });
      } else if (s.isCharacterDevice() || s.isBlockDevice()) {
        const { major, minor } = deviceNumbers(s.rdev);
        yield* add({ ...fields, name: path, type: s.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
      } else if (s.isFIFO()) {
        yield* add({ ...fields, name: path, type: 'fifo' });
      }
      // sockets cannot be stored in a tar; like Docker, leave them out
    }
  }
  yield* walk(fsDir, '');
  yield* flush();
  // the end of the archive: two zero blocks
  out.zeros(1024);
  yield* handOn();
  const last = out.rest();
  if (last.length > 0) yield last;
}
