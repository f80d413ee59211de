// The size a layer has unpacked (its tar), which is what `docker images` and `docker history` show.
// The store keeps a built layer as its tar, but a pulled or loaded one compressed: summing blob
// sizes showed one image (one id) at 2.14 MB built and 1.08 MB pulled. A compressed blob says its
// tar's size itself, without being decompressed:
// - gzip: the last 4 bytes of a member (ISIZE) are its input's size mod 2^32. Most layers are one
//   member (docker, BuildKit, containerd and tsbuild's parallel gzip write one);
// - zstd: a frame header may carry the frame's content size. Most layers are one frame.
// What is read is the last gzip member's size or the first zstd frame's: for a layer of several
// (eStargz's footer member, zstd:chunked) or a gzip past 4 GiB (ISIZE wraps) it is too small. A
// stated size that is smaller than the blob (beyond the 0.1% deflate or zstd can grow data that
// does not shrink) is such a case, and the blob's own size is shown instead: never a size invented.
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
      return plausible(tail.readUInt32LE(0), desc.size);
    }
    const head = Buffer.alloc(18);
    await fh.read(head, 0, 18, 0);
    const stated = zstdContentSize(head);
    return stated === undefined ? desc.size : plausible(stated, desc.size);
  } finally {
    await fh.close();
  }
}

/** `stated` when it can be the whole layer's tar: not smaller than its blob beyond what compression can grow data. */
function plausible(stated: number, blobSize: number): number {
  return stated * 1.001 + 1024 >= blobSize ? stated : blobSize;
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
