// Pushing an image from the content store: each blob unless the registry has it (HEAD), by
// cross-repository mount when a sibling repository has it, else one monolithic upload
// (POST, then PUT with the bytes); the manifest last, so a tag never names missing blobs.
//
//   await pushImage({ client, content, ref: '127.0.0.1:5000/app:1', descriptor: view.manifestDescriptor });
import type { BlobReader } from '../content/index.ts';
import { checkBlobBytes } from '../content/index.ts';
import type { Descriptor, ImageIndex, ImageManifest } from '../image/index.ts';
import { IndexMediaTypes } from '../image/index.ts';
import type { ProgressSink, VertexRef } from '../progress/index.ts';
import { ErrorCodes, TsbuildError, invalid } from '../errors/index.ts';
import type { RegistryClient } from './client.ts';
import { registryErrorFrom } from './errors.ts';
import type { ImageReference } from './reference.ts';
import { familiarName, formatReference, parseReference, referenceSelector } from './reference.ts';
import { withRetry } from './retry.ts';

export interface PushOptions {
  client: RegistryClient;
  content: BlobReader;
  /** Where to: `127.0.0.1:5000/app:1`. */
  ref: string;
  /** The manifest (or index) to push; it and everything it names must be in `content`. */
  descriptor: Descriptor;
  /** Repositories on the same registry that may hold the blobs already (`team/base`): mounted, not uploaded. */
  mountFrom?: readonly string[];
  progress?: ProgressSink;
  vertex?: VertexRef;
  /** Stops the push between and inside requests (the build was cancelled). */
  signal?: AbortSignal;
}

/** Idempotent: pushing the same image twice uploads nothing the second time. Throws RegistryError (denied, unavailable, …). */
export async function pushImage(opts: PushOptions): Promise<{ ref: string; digest: string }> {
  const ref = parseReference(opts.ref);
  if (ref.tag === undefined && ref.digest === undefined) throw invalid(ErrorCodes.REFERENCE_INVALID, `cannot push to "${opts.ref}": it names no tag`);
  await pushManifest(opts, ref, opts.descriptor, referenceSelector(ref));
  return { ref: formatReference(ref), digest: opts.descriptor.digest };
}

async function pushManifest(opts: PushOptions, ref: ImageReference, desc: Descriptor, selector: string): Promise<void> {
  const { client, content } = opts;
  const bytes = await content.readBytes(desc.digest);
  checkBlobBytes({ digest: desc.digest, path: content.path(desc.digest) }, bytes);
  const parsed = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
  if (IndexMediaTypes.includes(desc.mediaType)) {
    for (const child of (parsed as ImageIndex).manifests) {
      if (await content.has(child.digest)) await pushManifest(opts, ref, child, child.digest);
    }
  } else {
    const m = parsed as ImageManifest;
    await Promise.all([m.config, ...m.layers].map((blob) => client.transfers.add(() => pushBlob(opts, ref, blob))));
  }
  const what = `manifest ${familiarName({ ...ref, tag: undefined, digest: undefined })}:${selector}`;
  await withRetry(async () => {
    const res = await client.send(ref, `/manifests/${selector}`, { what, push: true, signal: opts.signal, method: 'PUT', headers: { 'content-type': desc.mediaType }, body: bytes });
    if (!res.ok) throw await registryErrorFrom(res, what);
    await res.body?.cancel();
  }, { signal: opts.signal });
}

async function pushBlob(opts: PushOptions, ref: ImageReference, blob: Descriptor): Promise<void> {
  const { client, content } = opts;
  const what = `blob ${blob.digest} to ${familiarName({ ...ref, tag: undefined, digest: undefined })}`;
  await withRetry(async () => {
    const head = await client.send(ref, `/blobs/${blob.digest}`, { what, push: true, signal: opts.signal, method: 'HEAD' });
    if (head.ok) return;
    await head.body?.cancel();
    for (const from of opts.mountFrom ?? []) {
      // 201 means mounted; 202 means the registry declined and opened a normal upload we abandon
      const mount = await client.send(ref, `/blobs/uploads/?mount=${blob.digest}&from=${encodeURIComponent(from)}`, { what, push: true, signal: opts.signal, method: 'POST' });
      await mount.body?.cancel();
      if (mount.status === 201) return report(opts, blob);
    }
    const start = await client.send(ref, '/blobs/uploads/', { what, push: true, signal: opts.signal, method: 'POST' });
    if (start.status !== 202) throw await registryErrorFrom(start, what);
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location) throw await registryErrorFrom(start, `${what}: no upload location`);
    const url = new URL(location, start.url);
    url.searchParams.set('digest', blob.digest);
    // verified as it is sent: a damaged blob fails the upload before its last bytes (verify-blob.ts)
    const body = await content.open(blob.digest, { size: blob.size });
    const put = await client
      .send(ref, url.toString(), {
        what,
        push: true,
        signal: opts.signal,
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: body as unknown as ReadableStream,
        duplex: 'half',
      } as RequestInit & { what: string; push: boolean })
      .catch((e: unknown) => {
        // fetch reports the body's failure as its own (a connection error, retried): say what it was
        throw digestMismatchIn(e) ?? e;
      });
    if (put.status !== 201) throw await registryErrorFrom(put, what);
    await put.body?.cancel();
    report(opts, blob);
  }, { signal: opts.signal });
}

/** The DIGEST_MISMATCH a failed body stream caused, somewhere in `e`'s cause chain. */
function digestMismatchIn(e: unknown): TsbuildError | undefined {
  for (let cur = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    if (cur instanceof TsbuildError && cur.code === ErrorCodes.DIGEST_MISMATCH) return cur;
  }
  return undefined;
}

function report(opts: PushOptions, blob: Descriptor): void {
  if (opts.progress && opts.vertex) {
    opts.progress.emit({ type: 'vertex.progress', vertex: opts.vertex, id: blob.digest, current: blob.size, total: blob.size, label: `pushed sha256:${blob.digest.slice(7, 19)}` });
  }
}
