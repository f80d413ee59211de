// Uploading a blob while it is being made (a layer's gzip blob, compressed for `tsbuild push`), as
// docker push does: the session is opened (POST) when the first bytes are on their way, the bytes go
// up in one streamed PATCH (chunked, no Content-Length: the size is not known yet) as they are made,
// hashed on the way, and the final PUT names the digest the hash gave (unless a HEAD of it finds the
// registry has it: the session is then cancelled, nothing committed). Compressing, storing the blob
// locally and uploading it overlap; only the registry's own commit (its fsync) follows the last byte.
//
// Anything failing here leaves the blob to the ordinary upload (push.ts: a HEAD, then an upload from
// the content store with retries), which starts once the local blob is stored: streamBlob's `sent`.
//
//   const stream = streamBlob({ client, content, ref: name, signal });
//   const blob = await worker.layerOfBlob(digest, { compression: 'gzip', tap: stream.tap });
//   await stream.sent(blob);
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../image/index.ts';
import type { HttpResponse } from './http.ts';
import { sendGuarded, withDigest } from './blob-upload.ts';
import { registryErrorFrom } from './errors.ts';
import type { PushOptions } from './push.ts';
import { pushBlobs } from './push.ts';
import type { ImageReference } from './reference.ts';
import { familiarName, parseReference } from './reference.ts';

export interface StreamedBlob {
  /** Give to layerOfBlob as its `tap`: called with the blob's bytes when it is made now, at most once. */
  tap: (blob: Readable) => void;
  /**
   * Once the blob is stored (`blob` is its descriptor): resolves true when the registry has it, by
   * the streamed upload when that went through, else by pushBlobs (HEAD, then an upload from the
   * store, retried). Without a tap call (the blob was stored already) it is pushBlobs alone.
   */
  sent: (blob: Descriptor) => Promise<boolean>;
  /** Settles when the streamed upload has (the blob never came: call this instead of `sent` before closing the client). */
  settled: () => Promise<void>;
}

export function streamBlob(opts: Omit<PushOptions, 'descriptor' | 'pushed'>): StreamedBlob {
  const ref = parseReference(opts.ref);
  let streamed: Promise<{ digest: string; size: number; sent: boolean } | undefined> | undefined;
  return {
    tap(blob) {
      if (streamed) {
        blob.destroy();
        return;
      }
      streamed = uploadStreamed(opts, ref, blob).catch(() => {
        // the source is left to the store; the ordinary upload reports whatever is still wrong
        blob.destroy();
        return undefined;
      });
    },
    async sent(blob) {
      const up = await streamed;
      if (up && up.digest === blob.digest && up.size === blob.size) return up.sent;
      return pushBlobs(opts, [blob]).get(blob.digest)!;
    },
    settled: async () => void (await streamed),
  };
}

/**
 * POST, one streamed PATCH of `source`, a HEAD of the digest it had, PUT ?digest= unless the registry
 * had that blob: the blob's digest and size once the registry has it, `sent` false when it had it
 * before. Throws RegistryError.
 */
async function uploadStreamed(opts: Omit<PushOptions, 'descriptor' | 'pushed'>, ref: ImageReference, source: Readable): Promise<{ digest: string; size: number; sent: boolean }> {
  const s = { client: opts.client, ref, what: `a layer blob to ${familiarName({ ...ref, tag: undefined, digest: undefined })}`, signal: opts.signal, stallTimeoutMs: opts.stallTimeoutMs };
  const start = await sendGuarded(s, '/blobs/uploads/', { method: 'POST' });
  if (start.status !== 202) throw await registryErrorFrom(start, s.what);
  const given = start.headers.get('location');
  if (!given) throw await registryErrorFrom(start, `${s.what}: no upload location`);
  let location = new URL(given, start.url).toString();
  const hash = createHash('sha256');
  let size = 0;
  let whole: { digest: string; head: Promise<HttpResponse> } | undefined;
  async function* hashed(): AsyncIterable<Uint8Array> {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    // a blob the registry has already (another root pushed the same layer) is never committed
    // again: the session is then cancelled (docker-registry rewrites a blob's link file in place
    // when it commits one, and a concurrent HEAD of that blob may then see a 500). Asked as soon as
    // the digest is known, while the registry still takes in and syncs the upload's last bytes
    const head = sendGuarded(s, `/blobs/${digest}`, { method: 'HEAD' });
    // awaited once the upload is in (or has failed): a rejection meanwhile is not unhandled
    head.catch(() => undefined);
    whole = { digest, head };
  }
  const patch = await sendGuarded(s, location, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' } }, hashed()).catch(async (e: unknown) => {
    // nothing of the upload goes on once it has failed
    await whole?.head.catch(() => undefined);
    throw e;
  });
  if (patch.status !== 202) {
    await whole?.head.catch(() => undefined);
    throw await registryErrorFrom(patch, s.what);
  }
  // a registry that answered before the last byte has a part of the blob: never committed under a digest
  if (!whole) throw new Error(`${s.what}: the registry answered the upload before its end`);
  location = new URL(patch.headers.get('location') ?? location, location).toString();
  const { digest } = whole;
  const head = await whole.head;
  if (head.ok) {
    await sendGuarded(s, location, { method: 'DELETE' }).catch(() => undefined);
    return { digest, size, sent: false };
  }
  if (head.status !== 404) throw await registryErrorFrom(head, s.what);
  const done = await sendGuarded(s, withDigest(location, digest), { method: 'PUT', headers: { 'content-length': '0' } });
  if (done.status !== 201) throw await registryErrorFrom(done, s.what);
  return { digest, size, sent: true };
}
