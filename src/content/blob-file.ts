// Writing a blob's file. What a blob has past its first 16 MiB is written with O_DIRECT: from our
// buffer to the disk, past the page cache. Every blob is fsynced before it is renamed into place, so its bytes go
// to the disk before the rename anyway; through the page cache they were first copied into pages the
// kernel had to find for them. On this VM that is most of the cost: free memory is handed back to
// the host (virtio-balloon's free page reporting), and each new page faults on the host, so a
// buffered write of 210 MB took 0.75 s of kernel time (`dd`: 0.12 s with O_DIRECT), most of a
// one-file rebuild's export of a 20,000-file COPY layer. It also keeps a big layer from pushing
// the pages of the files being built out of the cache.
//
// O_DIRECT wants the buffer's address, the offset and the length aligned to the device's logical
// block. The buffers here are 4 KiB-aligned views into larger allocations (Node cannot say where a
// buffer lives, so the first write of each finds the aligned view: a misaligned O_DIRECT write
// fails with EINVAL before writing anything), the chunks are whole MiBs at whole-MiB offsets, and the
// last, partial one is written through the page cache. A filesystem that refuses O_DIRECT (or a
// write that fails where no alignment helps) is written through the page cache as before.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { cachedBytes, directAlign, directChunkBytes, viewsToTry } from './direct-io.ts';

const chunkBytes = directChunkBytes;
const align = directAlign;
/** Buffers kept for the next blob: two per blob being written, at the export's parallelism. */
const maxPooled = 16;

interface AlignedBuffer {
  /** The allocation, of chunkBytes + align. */
  whole: Buffer;
  /** Where the aligned view begins in `whole`, once a direct write found it. */
  aligned: number | undefined;
  /** Where the chunk being filled begins: the aligned view, or the likeliest one until it is known. */
  at: number;
}

const pool: AlignedBuffer[] = [];
/** The view that was aligned last, tried first next time. */
let likeliest = viewsToTry()[0];
/** Filesystems (st_dev) that take O_DIRECT opens but no such writes at any view: written through the cache. */
const refused = new Set<number>();

function take(): AlignedBuffer {
  const b = pool.pop() ?? { whole: Buffer.allocUnsafeSlow(chunkBytes + align), aligned: undefined, at: 0 };
  b.at = b.aligned ?? likeliest;
  return b;
}

const give = (b: AlignedBuffer): void => {
  if (pool.length < maxPooled) pool.push(b);
};

export interface BlobFile {
  /** Takes a copy of `chunk` (the caller may reuse its memory once this resolves). Rejects with an earlier write's failure. */
  write(chunk: Uint8Array): Promise<void>;
  /** Writes what is left and, when `durable`, fsyncs the file. */
  finish(durable: boolean): Promise<void>;
  /** Closes the file once every write under way is back (after finish, or to give up on it); again, does nothing. */
  close(): Promise<void>;
}

/** Creates `path` (which must not exist) for a blob's bytes. */
export async function createBlobFile(path: string): Promise<BlobFile> {
  const fh = await open(path, 'wx');
  const { dev } = await fh.stat();
  let direct: FileHandle | undefined;
  /** false once direct writes proved impossible here: the rest goes through the page cache. */
  let directOk = !refused.has(dev);
  let staging: AlignedBuffer | undefined;
  let used = 0;
  let position = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let failed: unknown;
  let closed = false;
  /** Every write and finish under way: close waits for all of them, so no buffer or descriptor is used after it. */
  const busy = new Set<Promise<unknown>>();
  const spare: AlignedBuffer[] = [];
  const track = <T>(p: Promise<T>): Promise<T> => {
    busy.add(p);
    const done = () => void busy.delete(p);
    p.then(done, done);
    return p;
  };
  const ensureOpen = () => {
    if (closed) throw new Error(`${path} was closed while it was written`);
  };

  async function writeBuffered(data: Buffer, at: number): Promise<void> {
    for (let off = 0; off < data.length; ) off += (await fh.write(data, off, data.length - off, at + off)).bytesWritten;
  }

  /** Writes the full chunk in `buf` at `at`, directly when this file and buffer allow it. */
  async function writeChunk(buf: AlignedBuffer, at: number): Promise<void> {
    try {
      if (at < cachedBytes) {
        await writeBuffered(buf.whole.subarray(buf.at, buf.at + chunkBytes), at);
        return;
      }
      if (directOk && !direct) {
        try {
          direct = await open(path, constants.O_WRONLY | constants.O_DIRECT);
        } catch {
          directOk = false;
        }
      }
      if (directOk && direct) {
        const done = await writeDirect(direct, buf, at);
        if (done === 'ok') return;
        if (done === 'refused') refused.add(dev);
      }
      directOk = false;
      await writeBuffered(buf.whole.subarray(buf.at, buf.at + chunkBytes), at);
    } finally {
      spare.push(buf);
    }
  }

  return {
    async write(chunk) {
      ensureOpen();
      if (failed !== undefined) throw failed;
      for (let off = 0; off < chunk.length; ) {
        if (!staging) {
          staging = spare.pop() ?? take();
          staging.at = staging.aligned ?? likeliest;
        }
        const n = Math.min(chunk.length - off, chunkBytes - used);
        staging.whole.set(chunk.subarray(off, off + n), staging.at + used);
        off += n;
        used += n;
        if (used === chunkBytes) {
          const full = staging;
          const at = position;
          staging = undefined;
          used = 0;
          position += chunkBytes;
          // one write at a time, while the next chunk is filled
          await inFlight;
          ensureOpen();
          inFlight = track(writeChunk(full, at));
          inFlight.catch((e: unknown) => {
            failed = e;
          });
        }
      }
    },
    finish(durable) {
      return track(
        (async () => {
          await inFlight;
          ensureOpen();
          if (staging && used > 0) {
            await writeBuffered(staging.whole.subarray(staging.at, staging.at + used), position);
            position += used;
          }
          // an fsync of either descriptor flushes the inode: the direct writes' metadata and the rest's pages
          if (durable) await fh.sync();
        })(),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      while (busy.size > 0) await Promise.allSettled([...busy]);
      for (const b of spare.splice(0)) give(b);
      if (staging) give(staging);
      staging = undefined;
      await direct?.close();
      await fh.close();
    },
  };
}

/**
 * Writes the chunk in `buf` with O_DIRECT at `at`: `ok`; `refused` when no view of the buffer is
 * accepted (the filesystem takes no direct writes); `short` when a write came back short (the page
 * cache then takes the whole chunk). The chunk was filled at `buf.at`; while the aligned view is
 * not known (or one known elsewhere is refused here), it is moved to each candidate in turn.
 */
async function writeDirect(fh: FileHandle, buf: AlignedBuffer, at: number): Promise<'ok' | 'refused' | 'short'> {
  const attempt = async (view: number): Promise<'ok' | 'einval' | 'short'> => {
    if (view !== buf.at) {
      buf.whole.copyWithin(view, buf.at, buf.at + chunkBytes);
      buf.at = view;
    }
    try {
      for (let off = 0; off < chunkBytes; ) {
        const { bytesWritten } = await fh.write(buf.whole, view + off, chunkBytes - off, at + off);
        if (bytesWritten === 0 || bytesWritten % align !== 0) return 'short';
        off += bytesWritten;
      }
      return 'ok';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      return 'einval';
    }
  };
  if (buf.aligned !== undefined) {
    const r = await attempt(buf.aligned);
    if (r !== 'einval') return r;
    // a view another filesystem took (one that falls back on its own for misaligned writes)
    buf.aligned = undefined;
  }
  for (const view of viewsToTry(likeliest)) {
    const r = await attempt(view);
    if (r === 'short') return r;
    if (r === 'ok') {
      buf.aligned = view;
      likeliest = view;
      return r;
    }
  }
  return 'refused';
}
