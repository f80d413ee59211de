// One stream read by two consumers at once: a layer's tar stored uncompressed AND compressed in the
// same walk of its snapshot (layer-blob.ts), instead of storing the tar, then reading it back (and
// hashing it again) to compress it. Every chunk goes to both sides; the source waits for the slower
// one, so memory stays bounded by the two sides' buffers.
//
//   const [raw, packed] = teeStream();
//   await Promise.all([pipeline(tar, tee.input), content.putStream(raw), content.putStream(packed.pipe(gzip))]);
import { PassThrough, Writable, type Readable } from 'node:stream';

export interface Tee {
  /** Write the source into this (the end of a pipeline); ending it ends both sides. */
  input: Writable;
  sides: [Readable, Readable];
}

/** What a side or the input fails with when it was stopped only because another part failed first. */
export class TeeStopped extends Error {}

/** True for an error a stream got only because another stream of the same tee failed: not the cause. */
export function isKnockOn(e: unknown): boolean {
  return e instanceof TeeStopped || (e as { code?: unknown } | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * A side whose reader stops early (it failed, or was destroyed) fails the input, so the pipeline
 * feeding it rejects and the other side is destroyed too: nothing waits for a drain that never comes.
 */
export function teeStream(opts: { highWaterMark?: number } = {}): Tee {
  const highWaterMark = opts.highWaterMark ?? 1 << 20;
  const sides: [PassThrough, PassThrough] = [new PassThrough({ highWaterMark }), new PassThrough({ highWaterMark })];
  const input = new Writable({
    highWaterMark: 0,
    write(chunk: Buffer, _encoding, callback) {
      let waiting = 0;
      const drained = () => {
        if (--waiting === 0) callback();
      };
      for (const side of sides) {
        if (!side.write(chunk)) {
          waiting++;
          side.once('drain', drained);
        }
      }
      if (waiting === 0) callback();
    },
    final(callback) {
      for (const side of sides) side.end();
      callback();
    },
    destroy(error, callback) {
      // after a normal end (autoDestroy) the sides keep what they hold for their readers
      if (error || !input.writableFinished) {
        for (const side of sides) if (!side.writableFinished) side.destroy(error ?? new TeeStopped('the layer tar stopped early'));
      }
      callback(error);
    },
  });
  for (const side of sides) {
    // a side failed before its reader began (a store still opening its ingest file) keeps the
    // error for that reader, whose first read throws it; it must not count as unhandled meanwhile
    side.on('error', () => {});
    side.on('close', () => {
      if (!side.writableFinished && !input.destroyed) input.destroy(side.errored ?? new TeeStopped('a reader of the layer tar stopped early'));
    });
  }
  return { input, sides };
}
