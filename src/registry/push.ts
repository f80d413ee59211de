// Pushing an image from the content store: each blob unless the registry has it (HEAD), by
// cross-repository mount when a sibling repository has it (the token then covers both
// repositories), else uploaded (blob-upload.ts: one PUT, or resumable PATCH chunks); blobs in
// parallel, bounded by the client's transfer queue; the manifest last, so a tag never names
// missing blobs, and not at all when the tag names it already and every blob was there (a HEAD of
// the manifest goes with the blobs' HEADs). 5xx answers, resets and stalls are retried with
// backoff (retry.ts).
//
//   await pushImage({ client, content, ref: '127.0.0.1:5000/app:1', descriptor: view.manifestDescriptor });
import PQueue from 'p-queue';
import type { BlobReader } from '../content/index.ts';
import { checkBlobBytes } from '../content/index.ts';
import type { Descriptor, ImageIndex, ImageManifest } from '../image/index.ts';
import { IndexMediaTypes, ManifestMediaTypes } from '../image/index.ts';
import type { ProgressSink, VertexRef } from '../progress/index.ts';
import { ErrorCodes, invalid } from '../errors/index.ts';
import type { RegistryClient } from './client.ts';
import { RegistryError, isConnectionError, registryErrorFrom, unreachable } from './errors.ts';
import type { ImageReference } from './reference.ts';
import { familiarName, formatReference, parseReference, referenceSelector, repositoryName } from './reference.ts';
import { withRetry } from './retry.ts';
import { DefaultChunkSize, uploadBlob } from './blob-upload.ts';
import { readBoundedBody } from './bounded-body.ts';
import { bufferedResponse } from './http.ts';
import type { HttpRequestInit, HttpResponse } from './http.ts';
import { createStallGuard, resolveStallTimeoutMs } from './stall-guard.ts';

// Requests of one manifest's blobs at once (HEADs, and uploads of small blobs): BuildKit sends
// every blob's at once; a bound keeps an image of many layers from opening a socket for each.
const maxChecks = 8;
// Blobs up to this size are uploaded outside the client's transfer queue (bounded for large blobs).
const smallBlobBytes = 1024 * 1024;
const acceptManifests = [...ManifestMediaTypes, ...IndexMediaTypes].join(', ');

export interface PushOptions {
  client: RegistryClient;
  content: BlobReader;
  /** Where to: `127.0.0.1:5000/app:1`. */
  ref: string;
  /** The manifest (or index) to push; it and everything it names must be in `content`. */
  descriptor: Descriptor;
  /** Repositories on the same registry that may hold the blobs already (`team/base`): mounted, not uploaded. */
  mountFrom?: readonly string[];
  /**
   * Brings a blob the content store does not hold yet (a layer left in an imported cache) in before
   * it is uploaded; a blob the registry has, or mounts, is never fetched.
   */
  fetch?: (blob: Descriptor, signal?: AbortSignal) => Promise<void>;
  progress?: ProgressSink;
  vertex?: VertexRef;
  /** Stops the push between and inside requests (the build was cancelled). */
  signal?: AbortSignal;
  /** Blobs larger than this go up in PATCH chunks, resumed where a dropped connection left them. Default 64 MiB. */
  chunkSize?: number;
  /** A request that moves no byte for this long is aborted and retried. Default: see stall-guard.ts. */
  stallTimeoutMs?: number;
  /** Blobs pushBlobs is putting in the registry (each resolves true: sent, false: it had it): not looked for again. */
  pushed?: ReadonlyMap<string, Promise<boolean>>;
}

/** Idempotent: pushing the same image twice uploads nothing the second time. Throws RegistryError (denied, unavailable, …). */
export async function pushImage(opts: PushOptions): Promise<{ ref: string; digest: string }> {
  const ref = parseReference(opts.ref);
  if (ref.tag === undefined && ref.digest === undefined) throw invalid(ErrorCodes.REFERENCE_INVALID, `cannot push to "${opts.ref}": it names no tag`);
  await pushManifest(opts, ref, opts.descriptor, referenceSelector(ref));
  return { ref: formatReference(ref), digest: opts.descriptor.digest };
}

/** Resolves true when it sent the manifest (or a blob of it), false when the registry had all of it under `selector`. */
async function pushManifest(opts: PushOptions, ref: ImageReference, desc: Descriptor, selector: string): Promise<boolean> {
  const { client, content } = opts;
  const bytes = await content.readBytes(desc.digest);
  checkBlobBytes({ digest: desc.digest, path: content.path(desc.digest) }, bytes);
  const parsed = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
  const what = `manifest ${familiarName({ ...ref, tag: undefined, digest: undefined })}:${selector}`;
  // what the tag names now, asked beside the blobs: a re-push then ends with its HEADs
  const present = manifestThere(opts, ref, selector, what);
  let sent = false;
  if (IndexMediaTypes.includes(desc.mediaType)) {
    for (const child of (parsed as ImageIndex).manifests) {
      if (await content.has(child.digest)) sent = (await pushManifest(opts, ref, child, child.digest)) || sent;
    }
  } else {
    const m = parsed as ImageManifest;
    sent = [...(await sendBlobs(opts, ref, [m.config, ...m.layers])).values()].includes(true);
  }
  // every blob was there and the tag names this very manifest: the registry has the push already
  if (!sent && (await present) === desc.digest) return false;
  await retrying(opts, ref, async () => {
    const res = await guarded(opts, what, (signal) => client.send(ref, `/manifests/${selector}`, { what, push: true, signal, method: 'PUT', headers: { 'content-type': desc.mediaType }, body: bytes }));
    if (!res.ok) throw await registryErrorFrom(res, what);
  });
  return true;
}

/**
 * Starts putting `blobs` in the registry of `opts.ref` (each unless it is there), without a
 * manifest: what a push can send while the rest of its image is still being made (its layers
 * compressed). Give the result to pushImage as `pushed`; whoever does not must wait for every
 * promise before closing the client. Each resolves to whether its blob was sent.
 */
export function pushBlobs(opts: Omit<PushOptions, 'descriptor' | 'pushed'>, blobs: readonly Descriptor[]): Map<string, Promise<boolean>> {
  const started = startBlobs(opts, parseReference(opts.ref), blobs);
  // a failure is reported by whoever waits for it (pushImage), never as an unhandled rejection
  for (const p of started.values()) p.catch(() => undefined);
  return started;
}

function startBlobs(opts: Omit<PushOptions, 'descriptor'>, ref: ImageReference, blobs: readonly Descriptor[]): Map<string, Promise<boolean>> {
  // every blob's HEAD at once (up to maxChecks), uploads of large ones in the client's transfer
  // queue: waiting for a transfer slot before the HEAD made a 5-layer push two rounds of HEAD,
  // POST and PUT. The largest first: its upload is the longest, and the manifest waits for it
  const checks = new PQueue({ concurrency: maxChecks });
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()].sort((a, b) => b.size - a.size);
  return new Map(unique.map((blob) => [blob.digest, opts.pushed?.get(blob.digest) ?? checks.add(() => pushBlob(opts, ref, blob))]));
}

/** Each blob pushed (or taken from `opts.pushed`), settled: a failed blob must not leave the others uploading after pushImage has thrown. */
async function sendBlobs(opts: Omit<PushOptions, 'descriptor'>, ref: ImageReference, blobs: readonly Descriptor[]): Promise<Map<string, boolean>> {
  const started = [...startBlobs(opts, ref, blobs)];
  const settled = await Promise.allSettled(started.map(([, p]) => p));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return new Map(started.map(([digest], i) => [digest, (settled[i] as PromiseFulfilledResult<boolean>).value]));
}

/**
 * The digest `selector` (a tag or a digest) names in the registry, or undefined when it names
 * nothing or the registry did not say: the manifest is then sent. Never throws (the blobs' own
 * requests report an unreachable or refusing registry).
 */
async function manifestThere(opts: PushOptions, ref: ImageReference, selector: string, what: string): Promise<string | undefined> {
  try {
    const res = await guarded(opts, what, (signal) => opts.client.send(ref, `/manifests/${selector}`, { what, push: true, signal, method: 'HEAD', headers: { accept: acceptManifests } }));
    return res.ok ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves true when it sent the blob (uploaded or mounted), false when the registry had it. */
async function pushBlob(opts: Omit<PushOptions, 'descriptor'>, ref: ImageReference, blob: Descriptor): Promise<boolean> {
  const { client, content } = opts;
  const what = `blob ${blob.digest} to ${familiarName({ ...ref, tag: undefined, digest: undefined })}`;
  const send = (path: string, init: HttpRequestInit & { scopes?: readonly string[] }) => guarded(opts, what, (signal) => client.send(ref, path, { ...init, what, push: true, signal }));
  // after a HEAD that found no blob: mounted from a sibling repository, or uploaded
  const upload = async () => {
    let location: string | undefined;
    for (const from of opts.mountFrom ?? []) {
      // 201: mounted. 202: the registry declined and opened a normal upload, which we use
      const mount = await send(`/blobs/uploads/?mount=${blob.digest}&from=${encodeURIComponent(from)}`, { method: 'POST', scopes: [`repository:${from}:pull`] });
      if (mount.status === 201) return report(opts, blob);
      if (mount.status !== 202) continue;
      location = mount.headers.get('location') ?? undefined;
      if (location) location = new URL(location, mount.url).toString();
      break;
    }
    if (!location) {
      const start = await send('/blobs/uploads/', { method: 'POST' });
      if (start.status !== 202) throw await registryErrorFrom(start, what);
      const given = start.headers.get('location');
      if (!given) throw await registryErrorFrom(start, `${what}: no upload location`);
      location = new URL(given, start.url).toString();
    }
    if (opts.fetch && !(await content.has(blob.digest))) await opts.fetch(blob, opts.signal);
    await uploadBlob({ client, content, ref, blob, location, what, chunkSize: opts.chunkSize ?? DefaultChunkSize, signal: opts.signal, stallTimeoutMs: opts.stallTimeoutMs });
    report(opts, blob);
  };
  return retrying(opts, ref, async () => {
    const head = await send(`/blobs/${blob.digest}`, { method: 'HEAD' });
    if (head.ok) {
      report(opts, blob);
      return false;
    }
    if (head.status !== 404) throw await registryErrorFrom(head, what);
    // a config or a small layer is a request or two: it does not wait for a large layer's slot
    await (blob.size <= smallBlobBytes ? upload() : client.transfers.add(upload));
    return true;
  });
}

/** withRetry, and a connection that never came back said as `cannot reach registry …`. */
function retrying<T>(opts: Pick<PushOptions, 'signal'>, ref: ImageReference, fn: () => Promise<T>): Promise<T> {
  return withRetry(fn, { signal: opts.signal }).catch((e: unknown) => {
    throw isConnectionError(e) ? unreachable(ref.domain, e, repositoryName(ref)) : e;
  });
}

/** One bodiless-or-small request under a stall guard; its answer's body is read (bounded) before the guard goes. */
async function guarded(opts: Pick<PushOptions, 'signal' | 'stallTimeoutMs'>, what: string, fn: (signal: AbortSignal) => Promise<HttpResponse>): Promise<HttpResponse> {
  const stall = createStallGuard(opts.stallTimeoutMs ?? resolveStallTimeoutMs(), what, 'the registry', opts.signal);
  try {
    const res = await fn(stall.signal);
    const bytes = await readBoundedBody(res, 64 * 1024, { stall });
    return bufferedResponse(res, bytes);
  } catch (e) {
    throw stall.signal.aborted && !(e instanceof RegistryError && !e.retryable) ? stall.signal.reason : e;
  } finally {
    stall.done();
  }
}

function report(opts: Pick<PushOptions, 'progress' | 'vertex'>, blob: Descriptor): void {
  if (opts.progress && opts.vertex) {
    opts.progress.emit({ type: 'vertex.progress', vertex: opts.vertex, id: blob.digest, current: blob.size, total: blob.size, unit: 'bytes', completed: Date.now(), label: `pushing sha256:${blob.digest.slice(7, 19)}` });
  }
}
