// Checking a stored blob against its digest while it is copied out (export, push), in the same
// pass: no second read. A blob at its digest path was whole and correct when it was stored, but a
// disk, a hand edit or another tool can change it later, and an archive or a registry must never
// receive it then.
//
// The check can only finish at the end of the stream, so the last chunk is held back until it has:
// a consumer that counts bytes (a tar entry of the blob's size, an upload with its Content-Length)
// never receives a whole damaged blob, and its own error path (no archive, an aborted upload) runs.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';

export interface VerifyTarget {
  digest: string;
  /** The size the blob must have, when the caller knows it (the descriptor's). */
  size?: number;
  /** Where the blob lives, named in the error so the user can remove it. */
  path: string;
}

/** The error for a stored blob whose bytes are not what its digest says. */
export function damagedBlobError(target: VerifyTarget, found: string): TsbuildError {
  return new TsbuildError(`the content store is damaged: blob ${target.digest} ${found}`, {
    code: ErrorCodes.DIGEST_MISMATCH,
    kind: 'precondition',
    hint: `remove ${target.path} and build again: a layer built here is made again from its snapshot, an image's blob is pulled again`,
  });
}

/** Checks bytes already in memory (a manifest, a config) the same way. */
export function checkBlobBytes(target: VerifyTarget, bytes: Uint8Array): void {
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== target.digest) throw damagedBlobError(target, `holds content with digest ${actual}`);
}

/**
 * A pass-through that hashes what flows through it and fails with DIGEST_MISMATCH (naming the
 * blob and its path) when the digest or the size is wrong, before it passes on the last chunk.
 */
export function createVerifyStream(target: VerifyTarget): Transform {
  const hash = createHash('sha256');
  let size = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      // a blob longer than it should be is damaged: stop before passing on more than the size
      if (target.size !== undefined && size > target.size) {
        callback(damagedBlobError(target, `is longer than the ${target.size} bytes its descriptor says`));
        return;
      }
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback) {
      if (target.size !== undefined && size !== target.size) {
        callback(damagedBlobError(target, `has ${size} bytes, its descriptor says ${target.size}`));
        return;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== target.digest) {
        callback(damagedBlobError(target, `holds content with digest ${actual}`));
        return;
      }
      callback(null, held);
    },
  });
}
