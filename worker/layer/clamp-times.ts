// A layer tar with its file times clamped to SOURCE_DATE_EPOCH, as BuildKit's exporter option
// `rewrite-timestamp=true` does (util/converter: every ModTime, AccessTime and ChangeTime later than
// the epoch becomes the epoch; earlier ones stay): two builds of the same inputs then give the same
// layer bytes, wherever and whenever they ran.
//
// A streaming rewrite of the tar's bytes, not a re-encoding: a header whose mtime is later than the
// epoch gets the epoch in its mtime field and a new checksum; a PAX record (`x` for the next entry,
// `g` global) `mtime=`, `atime=` or `ctime=` later than the epoch becomes `=EPOCH`, and the record
// block is written again with its new length. Everything else passes through byte for byte: file
// bodies, GNU long names and link names (`L`/`K`), sparse maps (old GNU extension blocks too), the
// end-of-archive blocks. Memory is
// one header plus at most one PAX record block (1 MiB at most, Go's archive/tar limit).
//
//   await pipeline(content.open(diffId), createTimeClamp(1700000000), content.putStream(...));
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';

// Go's archive/tar refuses larger PAX and GNU long-name blocks (maxSpecialFileSize)
const maxPaxBytes = 1 << 20;
// typeflags whose header's size says nothing about a body (Go's isHeaderOnlyType)
const headerOnly = new Set(['1', '2', '3', '4', '5', '6']);
const timeKeys = new Set(['mtime', 'atime', 'ctime']);

function badTar(message: string): TsbuildError {
  return new TsbuildError(`layer tar: ${message}`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid' });
}

/** A numeric header field: octal text, or base-256 when its first byte has the top bit set (GNU, star). */
function readNumber(block: Buffer, off: number, len: number): number {
  if (block[off] & 0x80) {
    let n = block[off] & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + block[off + i];
    return n;
  }
  const text = block.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw badTar(`header field "${text}" is not a number`);
  return parseInt(text, 8);
}

function writeMtime(block: Buffer, epoch: number): void {
  // 11 octal digits hold times to the year 2242; beyond, base-256 as GNU tar writes them
  if (epoch < 8 ** 11) {
    // the field's terminator (a space as tar-stream writes it, a NUL as Go does) is kept
    block.write(epoch.toString(8).padStart(11, '0'), 136, 'latin1');
    if (block[147] !== 0 && block[147] !== 0x20) block[147] = 0x20;
    return;
  }
  block.fill(0, 136, 148);
  block[136] = 0x80;
  for (let i = 147, n = epoch; i > 136; i--, n = Math.floor(n / 256)) block[i] = n % 256;
}

function writeChecksum(block: Buffer): void {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i];
  for (let i = 156; i < 512; i++) sum += block[i];
  // six octal digits and the two bytes after them (NUL and space in either order) as written; seven
  // when the field held seven
  const digits = block[154] >= 0x30 && block[154] <= 0x37 ? 7 : 6;
  block.write(sum.toString(8).padStart(digits, '0'), 148, 'latin1');
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (block[i] !== 0) return false;
  return true;
}

/** `LEN key=value\n` with LEN counting itself, as POSIX pax writes it. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  let digits = String(len).length;
  if (String(len + digits).length > digits) digits++;
  return Buffer.from(`${len + digits}${body}`);
}

/** PAX records with times later than `epoch` set to it, or undefined when none is; also the `size` record, if any. */
function clampPaxRecords(body: Buffer, epoch: number): { records?: Buffer; size?: number } {
  const out: Buffer[] = [];
  let changed = false;
  let size: number | undefined;
  for (let off = 0; off < body.length; ) {
    // trailing NULs pad the last block
    if (body[off] === 0) break;
    const space = body.indexOf(0x20, off);
    const len = space > off ? Number(body.toString('latin1', off, space)) : NaN;
    if (!Number.isSafeInteger(len) || len <= space - off || off + len > body.length || body[off + len - 1] !== 0x0a) throw badTar('a PAX record is malformed');
    const record = body.subarray(off, off + len);
    const eq = record.indexOf(0x3d, space - off);
    if (eq < 0) throw badTar('a PAX record has no "="');
    const key = record.toString('utf8', space - off + 1, eq);
    const value = record.toString('utf8', eq + 1, len - 1);
    if (key === 'size') size = Number(value);
    if (timeKeys.has(key) && /^-?\d+(\.\d+)?$/.test(value) && Number(value) > epoch) {
      out.push(paxRecord(key, String(epoch)));
      changed = true;
    } else out.push(record);
    off += len;
  }
  return { ...(changed ? { records: Buffer.concat(out) } : {}), ...(size !== undefined && Number.isSafeInteger(size) ? { size } : {}) };
}

/**
 * A Transform from a tar to the same tar with times later than `epoch` (whole seconds since 1970)
 * set to it. Fails with IMAGE_INVALID on a tar it cannot follow (a bad header field, a truncated
 * entry, a PAX block over 1 MiB).
 */
export function createTimeClamp(epoch: number): Transform {
  // bytes of the current entry's body (with its padding) still to pass through
  let body = 0;
  // the tar has ended (a zero block): the rest passes through as it is
  let ended = false;
  // the size a PAX `size=` record gave the next entry
  let paxSize: number | undefined;
  // an old GNU sparse entry's extension blocks still to come (before its body)
  let sparseBlocks = false;
  let afterSparse = 0;
  let pending: Buffer | undefined;

  /** Handles what `buf` holds from `pos`; returns how far it got (the rest waits for more bytes). */
  function consume(buf: Buffer, push: (b: Buffer) => void): number {
    let pos = 0;
    let from = 0;
    const emit = (replacement: Buffer, skip: number) => {
      if (pos > from) push(buf.subarray(from, pos));
      push(replacement);
      pos += skip;
      from = pos;
    };
    while (pos < buf.length) {
      if (ended) {
        pos = buf.length;
        break;
      }
      if (body > 0) {
        const n = Math.min(body, buf.length - pos);
        pos += n;
        body -= n;
        continue;
      }
      if (buf.length - pos < 512) break;
      if (sparseBlocks) {
        // each says whether another follows (byte 504); then the body
        sparseBlocks = buf[pos + 504] !== 0;
        pos += 512;
        if (!sparseBlocks) body = afterSparse;
        continue;
      }
      const header = buf.subarray(pos, pos + 512);
      if (isZeroBlock(header)) {
        ended = true;
        continue;
      }
      const type = String.fromCharCode(header[156]);
      const size = readNumber(header, 124, 12);
      const mtime = readNumber(header, 136, 12);
      if (type === 'x' || type === 'g') {
        if (size > maxPaxBytes) throw badTar(`a PAX header of ${size} bytes (at most ${maxPaxBytes})`);
        const padded = Math.ceil(size / 512) * 512;
        if (buf.length - pos < 512 + padded) break;
        const { records, size: next } = clampPaxRecords(buf.subarray(pos + 512, pos + 512 + size), epoch);
        if (type === 'x') paxSize = next;
        if (records || mtime > epoch) {
          const recs = records ?? buf.subarray(pos + 512, pos + 512 + size);
          const block = Buffer.alloc(512 + Math.ceil(recs.length / 512) * 512);
          header.copy(block);
          if (records) block.write(recs.length.toString(8).padStart(11, '0'), 124, 'latin1');
          if (mtime > epoch) writeMtime(block, epoch);
          writeChecksum(block);
          recs.copy(block, 512);
          emit(block, 512 + padded);
        } else pos += 512 + padded;
        continue;
      }
      const entrySize = headerOnly.has(type) ? 0 : (paxSize ?? size);
      paxSize = undefined;
      if (mtime > epoch) {
        const copy = Buffer.from(header);
        writeMtime(copy, epoch);
        writeChecksum(copy);
        emit(copy, 512);
      } else pos += 512;
      body = Math.ceil(entrySize / 512) * 512;
      if (type === 'S' && header[482] !== 0) {
        sparseBlocks = true;
        afterSparse = body;
        body = 0;
      }
    }
    if (pos > from) push(buf.subarray(from, pos));
    return pos;
  }

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
        const used = consume(buf, (b) => this.push(b));
        // a copy: the source may reuse its chunk's memory once it is asked for the next
        pending = used < buf.length ? Buffer.from(buf.subarray(used)) : undefined;
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      if (body > 0 || sparseBlocks || (pending && !ended)) cb(badTar('it ends in the middle of an entry'));
      else cb();
    },
  });
}
