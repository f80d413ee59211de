// `tsbuild push` and `tsbuild pull`: a stored image to its registry, and an image from its registry
// into the store under its name, as `docker push` / `docker pull` do. A push sends gzip layers, as
// docker push and a build's `--push` do: the store keeps a built layer as its uncompressed tar, so
// such an image is pushed as a manifest of its layers' gzip blobs (made once, then reused:
// compress-image.ts; the image id is the same), an index as an index of such manifests. An image
// whose layers are all compressed (pulled) goes as it is stored, and then neither the worker's
// layer code nor the exporter is loaded.
import { checkBlobBytes } from '../src/content/index.ts';
import { ErrorCodes, invalid, notFound } from '../src/errors/index.ts';
import type { Descriptor, ImageIndex, ImageManifest } from '../src/image/index.ts';
import { ManifestMediaTypes, MediaTypes } from '../src/image/index.ts';
import type { Platform } from '../src/llb/index.ts';
import type { StreamedBlob } from '../src/registry/index.ts';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { Lease } from '../src/state/index.ts';
import type { Worker } from '../worker/index.ts';
import type { EngineParts } from './engine.ts';
import { findImage, isImageId, lookupImage } from './find-image.ts';

export interface TransferOptions {
  /** Hosts reached over plain HTTP (loopback always is). */
  insecureRegistries?: readonly string[];
  signal?: AbortSignal;
  progress?: ProgressSink;
}

export interface PushResult {
  /** The normalised reference pushed: `127.0.0.1:5000/app:1`. */
  ref: string;
  tag: string;
  /** The manifest digest the registry now has under `tag`. */
  digest: string;
  size: number;
}

export interface PullResult {
  ref: string;
  /** What the reference names in the registry: a multi-platform image's index, else its manifest. */
  digest: string;
  /** The image id (config digest). */
  id: string;
  /** False when the name already pointed at this image. */
  changed: boolean;
}

/**
 * What a push needs of the root: the stores, leases (for the gzip blobs it makes) and the worker's
 * layer blobs (an engine's worker, or worker/layer/stored-layers.ts without one).
 */
export type PushParts = Pick<EngineParts, 'content' | 'images' | 'leases'> & { worker: Pick<Worker, 'layerOfBlob'> };

// what docker push sends; `tsbuild push` has no compression flag (a build's -o type=registry has)
const pushCompression = { compression: 'gzip', force: false } as const;
const compressed = (mediaType: string) => /(gzip|zstd)$/.test(mediaType);

/** Pushes the image `name` names in the store (never an id). */
export async function pushStoredImage(parts: PushParts, name: string, opts: TransferOptions = {}): Promise<PushResult> {
  const { createRegistryClient, formatReference, parseReference, pushBlobs, pushImage, streamBlob } = await import('../src/registry/index.ts');
  const ref = parseReference(name);
  if (ref.digest !== undefined) throw invalid(ErrorCodes.REFERENCE_INVALID, `cannot push "${name}": push takes a name with a tag, not a digest`, { hint: `tag it first: tsbuild tag ${name} REGISTRY/NAME:TAG` });
  // a name, never an id: the push would tag the image with the id as a repository name
  if (!parts.images.resolve(name)) {
    const byId = isImageId(name) || /^[0-9a-f]{12,63}$/.test(name) ? await lookupImage(parts, name).catch(() => undefined) : undefined;
    if (byId) {
      throw invalid(ErrorCodes.REFERENCE_INVALID, `cannot push ${name}: that is an image id; push takes the name of a stored image, which says where it goes`, { hint: `name it first: tsbuild tag ${name} REGISTRY/NAME:TAG, then tsbuild push REGISTRY/NAME:TAG` });
    }
    throw notFound(ErrorCodes.IMAGE_NOT_FOUND, `no such image: ${name}`, { hint: `push takes the name of a stored image; name it first: tsbuild tag IMAGE ${formatReference(ref).replace(/^docker\.io\/(library\/)?/, '')}` });
  }
  const image = await findImage(parts, name);
  const registry = createRegistryClient({ insecureRegistries: [...(opts.insecureRegistries ?? [])], signal: opts.signal });
  // the gzip blobs made for the push (and their manifest) stay until it is done, whatever a GC does;
  // made with the first of them (a prune spares blobs younger than its grace anyway): its write is
  // the process's first, whose WAL header SQLite syncs, and no longer comes before the compression
  let lease: Lease | undefined;
  const hold = (digests: readonly string[]) => (lease ??= parts.leases.create()).addAll(digests.map((d) => ['blob', d] as const));
  let pushed: Map<string, Promise<boolean>> | undefined;
  // a layer whose gzip blob is made now goes up while it is made (src/registry/streamed-upload.ts)
  const streams: LayerStreams = { tap: new Map(), sent: new Map() };
  try {
    // an index: itself and the manifests of it the store has, in gzip. A manifest: its media type
    // as its JSON says (the record's may be older), its layers in gzip
    let descriptor: Descriptor;
    if (image.target.digest !== image.digest) {
      descriptor = await compressedIndex(parts, image.target, hold, opts.signal);
    } else {
      // the config and the layers compressed already go up while the others are compressed, from
      // the start (started once the compression had begun instead, the first push took 8% longer:
      // 20 interleaved rounds at load 6-8, bench/README.md "Stop 20 push")
      if (!image.manifest.layers.every((l) => compressed(l.mediaType))) {
        pushed = pushBlobs({ client: registry, content: parts.content, ref: name, signal: opts.signal }, [image.manifest.config, ...image.manifest.layers.filter((l) => compressed(l.mediaType))]);
        for (const l of image.manifest.layers) {
          if (!compressed(l.mediaType) && !streams.tap.has(l.digest)) streams.tap.set(l.digest, streamBlob({ client: registry, content: parts.content, ref: name, signal: opts.signal }));
        }
      }
      descriptor = await compressedManifest(parts, { ...image.target, mediaType: image.manifest.mediaType ?? image.target.mediaType }, image.manifest, hold, opts.signal, streams);
    }
    await pushImage({ client: registry, content: parts.content, ref: name, descriptor, signal: opts.signal, pushed: streams.sent.size > 0 ? new Map([...(pushed ?? []), ...streams.sent]) : pushed });
    // what inspect's RepoDigests and images --digests give for this repository from now on
    parts.images.recordRepoDigest(name, descriptor.digest, image.id);
    return { ref: formatReference(ref), tag: ref.tag ?? 'latest', digest: descriptor.digest, size: descriptor.size };
  } finally {
    // nothing of this push goes on after it has returned or thrown
    if (pushed) await Promise.allSettled(pushed.values());
    await Promise.allSettled([...streams.sent.values(), ...[...streams.tap.values()].map((s) => s.settled())]);
    lease?.release();
    registry.close();
  }
}

/**
 * `desc` (the stored `manifest`) with its layers in gzip: the manifest stored with the layers
 * replaced, as the exporter's withLayers makes it; `desc` itself when none changes. `hold` is told
 * each blob the push needs that the image does not hold.
 */
async function compressedManifest(parts: PushParts, desc: Descriptor, manifest: ImageManifest, hold: (digests: readonly string[]) => void, signal?: AbortSignal, streams?: LayerStreams): Promise<Descriptor> {
  if (manifest.layers.every((l) => compressed(l.mediaType))) return desc;
  const { compressLayers } = await import('./compress-image.ts');
  const layers = await compressLayers(parts.worker, manifest.layers, pushCompression, { signal, tap: streams && ((l) => streams.tap.get(l.digest)?.tap) });
  hold(layers.map((l) => l.digest));
  // each streamed layer's upload (or, where the stream failed or was not needed, its ordinary one)
  manifest.layers.forEach((l, i) => {
    const stream = streams?.tap.get(l.digest);
    if (!stream || layers[i].digest === l.digest || streams!.sent.has(layers[i].digest)) return;
    const sent = stream.sent(layers[i]);
    // a failure is reported by whoever waits for it (pushImage), never as an unhandled rejection
    sent.catch(() => undefined);
    streams!.sent.set(layers[i].digest, sent);
  });
  if (layers.every((l, i) => l.digest === manifest.layers[i].digest)) return desc;
  // made again from the image's manifest and the gzip blobs whenever it is needed: not fsynced, so
  // the manifest PUT does not wait for the disk (a damaged copy is found and rewritten by putBytes)
  const stored = await parts.content.putBytes(Buffer.from(JSON.stringify({ ...manifest, layers })), {}, { durable: false });
  hold([stored.digest]);
  return { ...desc, digest: stored.digest, size: stored.size };
}

/** The streamed uploads of a push: by the stored layer's digest, and what each sent by the gzip blob's digest (pushImage's `pushed`). */
interface LayerStreams {
  tap: Map<string, StreamedBlob>;
  sent: Map<string, Promise<boolean>>;
}

/** An index with each manifest of it the store has in gzip (compressedManifest); `desc` itself when none changes. */
async function compressedIndex(parts: PushParts, desc: Descriptor, hold: (digests: readonly string[]) => void, signal?: AbortSignal): Promise<Descriptor> {
  const read = async <T>(d: Descriptor): Promise<T> => {
    const bytes = await parts.content.readBytes(d.digest);
    checkBlobBytes({ digest: d.digest, path: parts.content.path(d.digest) }, bytes);
    return JSON.parse(bytes.toString('utf8')) as T;
  };
  const index = await read<ImageIndex>(desc);
  const manifests = [];
  for (const child of index.manifests) {
    const mine = ManifestMediaTypes.includes(child.mediaType) && (await parts.content.has(child.digest));
    manifests.push(mine ? await compressedManifest(parts, child, await read<ImageManifest>(child), hold, signal) : child);
  }
  if (manifests.every((m, i) => m.digest === index.manifests[i].digest)) return desc;
  const stored = await parts.content.putBytes(Buffer.from(JSON.stringify({ ...index, manifests })));
  hold([stored.digest]);
  return { ...desc, digest: stored.digest, size: stored.size };
}

export async function pullToStore(parts: EngineParts, name: string, opts: TransferOptions & { platform?: Platform; vertex?: VertexRef } = {}): Promise<PullResult> {
  const { createRegistryClient, parseReference, pullImage } = await import('../src/registry/index.ts');
  const ref = parseReference(name);
  const client = createRegistryClient({ insecureRegistries: [...(opts.insecureRegistries ?? [])], signal: opts.signal });
  // what arrives is held until a name holds it: a GC in another process must not take it meanwhile
  const lease = parts.leases.create();
  try {
    const pulled = await pullImage({ client, content: parts.content, ref: name, platform: opts.platform, progress: opts.progress, vertex: opts.vertex });
    for (const d of [pulled.digest, pulled.manifest.config.digest, ...pulled.manifest.layers.map((l) => l.digest)]) lease.add('blob', d);
    const size = (await parts.content.info(pulled.digest))?.size ?? 0;
    const descriptor = { mediaType: pulled.manifest.mediaType ?? MediaTypes.ociManifest, digest: pulled.digest, size };
    let changed = true;
    if (ref.digest !== undefined) {
      // by digest: up to date when a record held that manifest already
      changed = !parts.images.list().some((r) => r.digest === pulled.digest);
      parts.images.keep(descriptor);
    } else {
      changed = parts.images.resolve(name)?.digest !== pulled.digest;
      if (changed) parts.images.tag(name, descriptor);
    }
    const id = pulled.manifest.config.digest;
    parts.images.recordRepoDigest(name, pulled.repoDigest, id);
    // the digest docker prints: what the reference names in the registry (an index's, for a multi-platform image)
    return { ref: pulled.ref, digest: pulled.repoDigest, id, changed };
  } finally {
    lease.release();
    client.close();
  }
}
