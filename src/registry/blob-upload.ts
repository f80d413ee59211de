// Uploading one blob into an upload session the registry opened (POST /blobs/uploads/ gave its
// Location): small blobs in one PUT, large ones in PATCH chunks. After a chunk whose connection
// drops, the session's status (GET Location → 204 with `Range: 0-N`) says how far the registry
// got, and the upload goes on from there, where the registry allows it (docker-registry does when
// none of the chunk was written, and cancels a part-written session: the upload then starts anew).
// The final PUT names the digest; the registry checks it.
import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobReader } from '../content/index.ts';
import type { Descriptor } from '../image/index.ts';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import type { RegistryClient } from './client.ts';
import { RegistryError, isRetryable, registryErrorFrom } from './errors.ts';
import { readBoundedBody } from './bounded-body.ts';
import { bufferedResponse } from './http.ts';
import type { HttpRequestInit, HttpResponse } from './http.ts';
import type { ImageReference } from './reference.ts';
import { DefaultDelays } from './retry.ts';
import { createStallGuard, resolveStallTimeoutMs, type StallGuard } from './stall-guard.ts';

// 64 MiB: one PUT for every config and most layers; a 600 MB layer goes in 10 resumable pieces
export const DefaultChunkSize = 64 * 1024 * 1024;

export interface UploadSession {
  client: RegistryClient;
  content: BlobReader;
  ref: ImageReference;
  blob: Descriptor;
  /** The session's URL, from the Location of the POST that opened it. */
  location: string;
  what: string;
  chunkSize: number;
  signal?: AbortSignal;
  stallTimeoutMs?: number;
}

type SendInit = HttpRequestInit & { what: string; push: boolean };

/** The stream's chunks, each moving the stall deadline: an upload the registry stops reading fails, it does not hang. */
async function* watched(source: AsyncIterable<Uint8Array>, stall: StallGuard): AsyncIterable<Uint8Array> {
  for await (const chunk of source) {
    stall.touch(chunk.length);
    yield chunk;
  }
}

/** Sends one request of the upload under a stall guard (the build's cancellation aborts it too). */
export async function sendGuarded(s: Pick<UploadSession, 'client' | 'ref' | 'what' | 'signal' | 'stallTimeoutMs'>, url: string, init: Omit<SendInit, 'what' | 'push' | 'signal'>, body?: AsyncIterable<Uint8Array>): Promise<HttpResponse> {
  const stall = createStallGuard(s.stallTimeoutMs ?? resolveStallTimeoutMs(), s.what, 'the registry', s.signal);
  try {
    const res = await s.client.send(s.ref, url, { ...init, what: s.what, push: true, signal: stall.signal, ...(body ? { body: watched(body, stall) } : {}) } satisfies SendInit);
    // the answer is small (empty, or a spec error body): read it, bounded, before the guard goes
    const bytes = await readBoundedBody(res, 64 * 1024, { stall });
    return bufferedResponse(res, bytes);
  } catch (e) {
    throw stall.signal.aborted && !(e instanceof TsbuildError && (e.code === ErrorCodes.DIGEST_MISMATCH || (e instanceof RegistryError && !e.retryable))) ? stall.signal.reason : e;
  } finally {
    stall.done();
  }
}

export const withDigest = (location: string, digest: string) => {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
};

/** The next offset a `Range: 0-N` header says the registry holds (N+1); `0-0` is read as nothing yet. */
export function rangeOffset(range: string | null): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  if (!m) return undefined;
  const end = Number(m[1]);
  return end === 0 ? 0 : end + 1;
}

/**
 * Uploads the blob into the session and completes it. Resolves once the registry has it at its
 * digest. Throws RegistryError; DIGEST_MISMATCH when the stored blob is damaged.
 */
export async function uploadBlob(s: UploadSession): Promise<void> {
  const url = (location: string | null, base: string) => new URL(location ?? base, base).toString();
  if (s.blob.size <= s.chunkSize) {
    // verified as it is sent: a damaged blob fails the upload before its last bytes (verify-blob.ts)
    const body = await s.content.open(s.blob.digest, { size: s.blob.size });
    const put = await sendGuarded(s, withDigest(s.location, s.blob.digest), { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(s.blob.size) } }, body).catch((e: unknown) => {
      // the request reports the body's failure as its own (a connection error, retried): say what it was
      throw digestMismatchIn(e) ?? e;
    });
    if (put.status !== 201) throw await registryErrorFrom(put, s.what);
    return;
  }
  let location = s.location;
  let offset = 0;
  let failures = 0;
  const path = s.content.path(s.blob.digest);
  while (offset < s.blob.size) {
    const end = Math.min(offset + s.chunkSize, s.blob.size);
    try {
      const res = await sendGuarded(
        s,
        location,
        { method: 'PATCH', headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end - 1}`, 'content-length': String(end - offset) } },
        createReadStream(path, { start: offset, end: end - 1 }),
      );
      if (res.status !== 202) throw await registryErrorFrom(res, s.what);
      location = url(res.headers.get('location'), location);
      offset = rangeOffset(res.headers.get('range')) ?? end;
    } catch (e) {
      if (!isRetryable(e) || failures >= DefaultDelays.length || s.signal?.aborted) throw e;
      await sleep(DefaultDelays[failures++], undefined, { signal: s.signal }).catch(() => {
        throw new TsbuildError(`${s.what}: cancelled`, { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
      });
      // where did the registry get to? A session it gave up (docker-registry cancels one that a
      // cut-off chunk left part-written) fails retryably: the caller's retry starts a new upload
      const status = await sendGuarded(s, location, { method: 'GET' });
      if (status.status !== 204 && status.status !== 200) {
        const lost = await registryErrorFrom(status, s.what);
        throw new RegistryError(`${s.what}: the registry dropped the upload after a broken connection (${lost.message.slice(s.what.length + 2)})`, {
          code: ErrorCodes.REGISTRY_ERROR,
          kind: 'unavailable',
          retryable: true,
          status: status.status,
          cause: e,
        });
      }
      location = url(status.headers.get('location'), location);
      offset = rangeOffset(status.headers.get('range')) ?? 0;
    }
  }
  const done = await sendGuarded(s, withDigest(location, s.blob.digest), { method: 'PUT', headers: { 'content-length': '0' } });
  if (done.status !== 201) throw await registryErrorFrom(done, s.what);
}

/** The DIGEST_MISMATCH a failed body stream caused, somewhere in `e`'s cause chain. */
function digestMismatchIn(e: unknown): TsbuildError | undefined {
  for (let cur = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    if (cur instanceof TsbuildError && cur.code === ErrorCodes.DIGEST_MISMATCH) return cur;
  }
  return undefined;
}
