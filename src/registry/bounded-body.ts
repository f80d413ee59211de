// Response bodies from a registry or token service are read with a bound: a hostile or broken
// server can send a chunked body without end, and Content-Length, when there is one, is only a
// claim. Chunks move a stall guard's deadline, when one watches the request.
import type { HttpResponse } from './http.ts';
import type { StallGuard } from './stall-guard.ts';

/**
 * The whole body, at most `max` bytes: past that, the rest is not read, the body is cancelled and
 * `tooLarge()` thrown. Without `tooLarge`, the first `max` bytes are returned instead (for bodies
 * only shown in messages).
 */
export async function readBoundedBody(res: HttpResponse, max: number, opts: { stall?: StallGuard; tooLarge?: () => Error } = {}): Promise<Buffer> {
  const body = res.body;
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const value = chunk as Buffer;
      opts.stall?.touch(value.length);
      if (size + value.length > max) {
        if (opts.tooLarge) throw opts.tooLarge();
        chunks.push(value.subarray(0, max - size));
        size = max;
        break;
      }
      size += value.length;
      chunks.push(value);
    }
  } finally {
    // read to its end this changes nothing; cut short (or failed) the rest is dropped
    body.destroy();
  }
  return Buffer.concat(chunks, size);
}
