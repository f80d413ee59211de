// A bound on a stream from an untrusted source (a registry, an OCI layout): once more bytes than
// the descriptor's size have passed, stop and fail, rather than read a 52 MB body that was said
// to be 3 kB to its end before the size check rejects it.
import { Transform } from 'node:stream';

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
