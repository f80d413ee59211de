// Response bodies from a registry or token service are read with a bound: a hostile or broken
// server can send a chunked body without end, and Content-Length, when there is one, is only a
// claim. Chunks move a stall guard's deadline, when one watches the request.
import type { StallGuard } from './stall-guard.ts';

/**
 * The whole body, at most `max` bytes: past that, the rest is not read, the body is cancelled and
 * `tooLarge()` thrown. Without `tooLarge`, the first `max` bytes are returned instead (for bodies
 * only shown in messages).
 */
export async function readBoundedBody(res: Response, max: number, opts: { stall?: StallGuard; tooLarge?: () => Error } = {}): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      opts.stall?.touch();
      if (size + value.length > max) {
        if (opts.tooLarge) throw opts.tooLarge();
        chunks.push(value.subarray(0, max - size));
        size = max;
        await reader.cancel().catch(() => undefined);
        break;
      }
      size += value.length;
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  }
  return Buffer.concat(chunks, size);
}
