// A bound on a stream from an untrusted source (a registry, an OCI layout): once more bytes than
// the descriptor's size have passed, stop and fail, rather than read a 52 MB body that was said
// to be 3 kB to its end before the size check rejects it.
import { Transform, type Readable } from 'node:stream';

/** A pass-through that fails with `tooLong()` as soon as more than `max` bytes have passed it. */
export function limitBytes(max: number, tooLong: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) return cb(tooLong());
      cb(null, chunk);
    },
  });
}

/** Up to `n` first bytes of a stream, which is then closed; the stream's error rejects. */
export async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= n) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}
