// Reading a big blob past the page cache (O_DIRECT). Its bytes past the first 16 MiB were written
// that way (./blob-file.ts), so they are not cached, and a read through the cache takes a new page
// for every 4 KiB: on this VM each faults on the host, 2-3.5 ms per MB (a 210 MB tar read back took
// 0.54 s, 0.15 s direct). O_DIRECT wants the buffer's address, the offset and the length aligned
// to the disk's block; the buffers are aligned views found by a small direct read (Node cannot say
// where a buffer lives), reads are whole MiBs at whole-MiB offsets, and anything refused is read
// through the cache.
import { closeSync, constants, openSync, read, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { cachedBytes, directAlign, directChunkBytes, viewsToTry } from './direct-io.ts';

const chunkBytes = directChunkBytes;
const align = directAlign;
/** A blob smaller than this is read through the cache: it was written through it (./blob-file.ts). */
export const directReadMin = cachedBytes;

/** Buffers known to start at an aligned address (a direct read into them was accepted). */
const aligned = new WeakSet<Buffer>();


/**
 * A buffer of `bytes` (a multiple of 4 KiB) that direct reads of `fd` accept, or undefined when
 * none is (the filesystem refuses them).
 */
export function alignedBuffer(fd: number, bytes = chunkBytes): Buffer | undefined {
  const whole = Buffer.allocUnsafeSlow(bytes + align);
  for (const view of viewsToTry()) {
    try {
      readSync(fd, whole, view, align, 0);
    } catch {
      continue;
    }
    const buf = whole.subarray(view, view + bytes);
    aligned.add(buf);
    return buf;
  }
  return undefined;
}

/** Whether a direct read of `len` bytes at `pos` into `buf` at `at` is aligned (tar's 512-byte blocks, most disks' sectors). */
export function directReadFits(buf: Buffer, at: number, len: number, pos: number): boolean {
  return aligned.has(buf) && at % 512 === 0 && len % 512 === 0 && pos % 512 === 0;
}

/** Opens `path` for direct reads, or undefined where the filesystem refuses O_DIRECT. */
export function openDirect(path: string): number | undefined {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    return undefined;
  }
}

/**
 * The file at `path` (of `size` bytes, at least directReadMin) as a stream of 1 MiB chunks read
 * with O_DIRECT, each a copy the reader may keep; undefined when direct reads are refused here.
 * One read at a time, on libuv's threads.
 */
export function createDirectReadStream(path: string, size: number): Readable | undefined {
  const direct = openDirect(path);
  if (direct === undefined) return undefined;
  const buf = alignedBuffer(direct);
  if (!buf) {
    closeSync(direct);
    return undefined;
  }
  let fd = direct;
  let pos = 0;
  let reading = false;
  let afterRead: (() => void) | undefined;
  return new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (reading) return;
      if (pos >= size) {
        this.push(null);
        return;
      }
      reading = true;
      read(fd, buf, 0, chunkBytes, pos, (err, n) => {
        reading = false;
        if (afterRead) return afterRead();
        if (this.destroyed) return;
        if (err?.code === 'EINVAL' && fd === direct) {
          // a read that came back short left the next one unaligned: the rest through the cache
          try {
            fd = openSync(path, 'r');
          } catch (e) {
            return void this.destroy(e as Error);
          }
          closeSync(direct);
          return void this._read(chunkBytes);
        }
        if (err) return void this.destroy(err);
        if (n === 0) return void this.destroy(new Error(`${path} ended at ${pos} bytes, ${size} expected`));
        pos += n;
        this.push(Buffer.from(buf.subarray(0, n)));
      });
    },
    destroy(err, cb) {
      const done = () => {
        closeSync(fd);
        cb(err);
      };
      // a read under way still uses the descriptor: it is closed when that read is back
      if (reading) afterRead = done;
      else done();
    },
  });
}
