// gzip on every core, as pigz does it: the input is cut into 1 MiB chunks, each deflated on its own
// (in libuv's thread pool, so two chunks at once on two cores) with the previous chunk's last 32 KiB
// as its dictionary, and ended by a sync flush, so the pieces join into ONE deflate stream in ONE
// gzip member any gunzip reads. A chunk that looks random (looks-random.ts) is not deflated at all:
// it is written as stored blocks, a copy, since deflate would spend 30 ms a MiB to gain nothing;
// in a chunk of both kinds, so is each 64 KiB segment that looks random.
//
// The bytes depend only on the input and the level: the chunk size is fixed (whatever sizes the
// input arrives in), the stored-or-deflate choice uses integers only, the header has no time or
// name, and how many chunks run at once changes nothing. The same layer gives the same blob digest
// across runs, machines and core counts (for one zlib: Node's own).
//
//   await pipeline(tarStream, createParallelGzip({ level: 4 }), out);
import { availableParallelism } from 'node:os';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';
import { looksRandom } from './looks-random.ts';

const deflateRawAsync = promisify<Buffer, ZlibOptions, Buffer>(deflateRaw);

/** Bytes a chunk holds: large enough that the per-chunk cost (a zlib state, a dictionary) is noise, small enough for two cores to share a 10 MB layer. */
export const gzipChunkSize = 1 << 20;
/** deflate's window: the dictionary a chunk gets from the one before it. */
const windowSize = 32 << 10;
/**
 * A chunk that does not look random as a whole is judged again in segments of this size: those
 * that look random are stored, not deflated (a 4 MB random file's first and last MiB share a chunk
 * with tar headers or text: deflating them cost 25 ms each and gained under 0.1%). A multiple of
 * the window, so a deflated segment's dictionary lies inside its chunk.
 */
const segmentSize = 64 << 10;
/** A stored block holds at most 65535 bytes. */
const maxStored = 0xffff;

export interface ParallelGzipOptions {
  /** zlib level 0–9; default 4 (a layer's default, worker/layer/layer-blob.ts: about half level 6's CPU for 4% more bytes). */
  level?: number;
  /** Chunks deflated at once; default the machine's cores. Changes the speed, never the bytes. */
  concurrency?: number;
}

/** A gzip member's header: no name, no time (mtime 0), XFL as zlib sets it for the level, OS 3 (Unix) as zlib on Linux writes. */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

/**
 * `data` as non-final stored blocks (each: one header byte, LEN, NLEN, then the bytes); the stream
 * is byte-aligned here. One buffer, not a piece per block: a copy of 1 MiB costs less than the 32
 * small writes downstream.
 */
export function storedBlocks(data: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / maxStored));
  const out = Buffer.allocUnsafe(data.length + blocks * 5);
  let at = 0;
  for (let start = 0; start < data.length || at === 0; start += maxStored) {
    const len = Math.min(maxStored, data.length - start);
    out[at] = 0; // BFINAL 0, BTYPE 00 (stored), then padding to the byte
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(~len & 0xffff, at + 3);
    out.set(data.subarray(start, start + len), at + 5);
    at += 5 + len;
  }
  return out;
}

/** The deflate stream's end: an empty final stored block, then CRC32 and length (mod 2^32) of the input. */
function trailer(crc: number, size: number): Buffer {
  const out = Buffer.from([1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
  out.writeUInt32LE(crc >>> 0, 5);
  out.writeUInt32LE(size % 2 ** 32, 9);
  return out;
}

/**
 * Deflates under way in this process, across every gzip at once (two layers compress in parallel):
 * at most one a core, so libuv's four threads always keep some free for the file reads and writes
 * that feed and drain them.
 */
let running = 0;
const waiting: (() => void)[] = [];

async function withCore<T>(work: () => Promise<T>): Promise<T> {
  // a finished deflate hands its slot to the first waiter, so no newcomer slips in between
  if (running >= availableParallelism()) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

async function encodeChunk(chunk: Buffer, dictionary: Buffer | undefined, level: number): Promise<Buffer> {
  if (level === 0 || looksRandom(chunk)) return storedBlocks(chunk);
  const runs = randomRuns(chunk);
  if (runs.length === 1) return deflatePiece(chunk, dictionary, level);
  // a chunk of both kinds (a random file's start or end beside tar headers or text): its random
  // segments stored, the rest deflated, each piece with the 32 KiB of input before it as its
  // dictionary; every piece ends byte-aligned, so they join as the whole chunk's would
  const pieces = runs.map((r) => (r.random ? storedBlocks(chunk.subarray(r.start, r.end)) : deflatePiece(chunk.subarray(r.start, r.end), r.start === 0 ? dictionary : chunk.subarray(r.start - windowSize, r.start), level)));
  return Buffer.concat(await Promise.all(pieces));
}

function deflatePiece(piece: Buffer, dictionary: Buffer | undefined, level: number): Promise<Buffer> {
  return withCore(() => deflateRawAsync(piece, { level, finishFlush: constants.Z_SYNC_FLUSH, chunkSize: gzipChunkSize, ...(dictionary ? { dictionary } : {}) }));
}

/** A chunk's segments (segmentSize each) that look random and those that do not, joined into runs of one kind, in order. */
export function randomRuns(chunk: Buffer): { start: number; end: number; random: boolean }[] {
  const runs: { start: number; end: number; random: boolean }[] = [];
  for (let start = 0; start < chunk.length; start += segmentSize) {
    const end = Math.min(start + segmentSize, chunk.length);
    const random = looksRandom(chunk.subarray(start, end));
    const last = runs.at(-1);
    if (last && last.random === random) last.end = end;
    else runs.push({ start, end, random });
  }
  return runs;
}

/**
 * Cuts what `source` yields into chunks of exactly `size` bytes (the last one shorter). A piece of
 * exactly that size (a blob read in 1 MiB reads) is passed on as it is: a chunk a stream has
 * yielded is its consumer's, never written again by its producer.
 */
async function* fixedChunks(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const piece of source) {
    let rest = piece;
    if (held === 0 && rest.length === size) {
      yield Buffer.from(rest.buffer, rest.byteOffset, rest.length);
      continue;
    }
    while (held + rest.length >= size) {
      const take = size - held;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts, size);
      parts = [];
      held = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(rest);
      held += rest.length;
    }
  }
  if (held > 0) yield Buffer.concat(parts, held);
}

/** The gzip of what `source` yields, as an async iterable of pieces in order. */
export async function* parallelGzip(source: AsyncIterable<Uint8Array>, opts: ParallelGzipOptions = {}): AsyncGenerator<Buffer> {
  const level = opts.level ?? 4;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`gzip level ${level} is not 0 to 9`);
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  yield gzipHeader(level);
  let crc = 0;
  let size = 0;
  let dictionary: Buffer | undefined;
  const pending: Promise<Buffer>[] = [];
  try {
    for await (const chunk of fixedChunks(source, gzipChunkSize)) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      const encoded = encodeChunk(chunk, dictionary, level);
      // awaited in order below; until then a failure must not count as unhandled
      encoded.catch(() => {});
      pending.push(encoded);
      // the dictionary is the input's last 32 KiB so far (a short last chunk cannot need more)
      dictionary = chunk.length >= windowSize ? chunk.subarray(chunk.length - windowSize) : Buffer.concat([dictionary ?? Buffer.alloc(0), chunk]).subarray(-windowSize);
      while (pending.length >= concurrency) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    // stopped early (an abort, a failed consumer): the chunks under way finish in the pool, unread
    pending.length = 0;
  }
  yield trailer(crc, size);
}

/** parallelGzip as a stream for a pipeline. */
export function createParallelGzip(opts: ParallelGzipOptions = {}): Duplex {
  return Duplex.from((source: AsyncIterable<Uint8Array>) => parallelGzip(source, opts));
}
