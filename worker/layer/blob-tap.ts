// A copy of a blob's bytes for a second reader that may give up: `tsbuild push` uploads a layer's
// gzip blob while it is being made and stored (control/streamed-layer-push.ts). Unlike teeStream,
// the copy is the weaker side: its reader going away (the upload failed) stops the copy and never
// the store, whose blob the push then uploads again; the source failing fails the copy too, so an
// upload never takes a truncated blob for a whole one. Both readers pace the source (the copy's
// buffer is bounded: 8 MiB), so memory stays bounded by the slower of the two.
//
//   const blob = await content.putStream(withTap(gzip, (copy) => upload(copy)));
import { PassThrough, type Readable } from 'node:stream';

/** What the copy fails with when the source stopped early. */
export class TapStopped extends Error {}

/** `source`'s chunks, each also written to the copy handed to `tap` (at once, before any is read). */
export async function* withTap(source: AsyncIterable<Uint8Array>, tap: (copy: Readable) => void, opts: { highWaterMark?: number } = {}): AsyncGenerator<Uint8Array> {
  // 8 MiB: while a push opens its upload session (a round trip, and the registry's fsync of the
  // session's start) the blob goes on being made and stored, instead of waiting after its first MiB
  const copy = new PassThrough({ highWaterMark: opts.highWaterMark ?? 8 << 20 });
  // the copy's reader reports its own failure; an error here must not count as unhandled
  copy.on('error', () => {});
  tap(copy);
  let ended = false;
  try {
    for await (const chunk of source) {
      if (!copy.destroyed && !copy.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            copy.off('drain', done);
            copy.off('close', done);
            resolve();
          };
          copy.on('drain', done);
          copy.on('close', done);
        });
      }
      yield chunk;
    }
    ended = true;
    if (!copy.destroyed) copy.end();
  } finally {
    if (!ended && !copy.destroyed) copy.destroy(new TapStopped('the blob stopped before its end'));
  }
}
