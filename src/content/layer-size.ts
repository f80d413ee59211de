// The size a layer has unpacked (its tar), which is what `docker images` and `docker history` show.
// The store keeps a built layer as its tar, but a pulled or loaded one compressed: summing blob
// sizes showed one image (one id) at 2.14 MB built and 1.08 MB pulled. A compressed blob says its
// tar's size itself, without being decompressed:
// - gzip: the last 4 bytes of a member (ISIZE) are its input's size mod 2^32. Layers are one
//   member (docker, BuildKit, containerd and tsbuild's parallel gzip write one); a size well below
//   the blob's own (random data grows a little in gzip, never by 0.1%) has wrapped past 4 GiB;
// - zstd: a frame header may carry the frame's content size; when it does not, or the blob is of
//   another kind, the blob's own size is what is shown.
import { open } from 'node:fs/promises';
import type { Descriptor } from '../image/index.ts';
import type { BlobReader } from './store.ts';

const zstdMagic = 0xfd2fb528;

/** The tar size of layer `desc`: its blob's size when uncompressed, else what the blob's header or trailer says. */
export async function unpackedLayerSize(content: Pick<BlobReader, 'path'>, desc: Descriptor): Promise<number> {
  if (!/(gzip|zstd)$/.test(desc.mediaType) || desc.size < 18) return desc.size;
  let fh;
  try {
    fh = await open(content.path(desc.digest), 'r');
  } catch {
    return desc.size;
  }
  try {
    if (desc.mediaType.endsWith('gzip')) {
      const tail = Buffer.alloc(4);
      await fh.read(tail, 0, 4, desc.size - 4);
      let size = tail.readUInt32LE(0);
      // past 4 GiB ISIZE wraps. deflate grows what does not shrink by 5 bytes a 64 KiB stored block
      // (under 0.01%), so a size clearly below that bound has wrapped
      while (size * 1.001 + 1024 < desc.size) size += 2 ** 32;
      return size;
    }
    const head = Buffer.alloc(18);
    await fh.read(head, 0, 18, 0);
    return zstdContentSize(head) ?? desc.size;
  } finally {
    await fh.close();
  }
}

/** The content size a zstd frame header states (RFC 8878 3.1.1.1), or undefined when it states none. */
export function zstdContentSize(head: Buffer): number | undefined {
  if (head.length < 6 || head.readUInt32LE(0) !== zstdMagic) return undefined;
  const descriptor = head[4];
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictIdBytes = [0, 1, 2, 4][descriptor & 3];
  const fcsBytes = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag];
  if (fcsBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + dictIdBytes;
  if (head.length < at + fcsBytes) return undefined;
  if (fcsBytes === 1) return head[at];
  if (fcsBytes === 2) return head.readUInt16LE(at) + 256;
  if (fcsBytes === 4) return head.readUInt32LE(at);
  return Number(head.readBigUInt64LE(at));
}
