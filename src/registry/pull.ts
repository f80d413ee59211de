// Pulling one platform of an image into the content store: the index (if any), the manifest,
// the config and every layer blob, skipping blobs already stored. Layers download in parallel,
// bounded by the client's transfer queue.
//
//   const { digest, config } = await pullImage({ client, content, ref: 'busybox', platform });
import type { BlobReader, BlobWriter } from '../content/index.ts';
import type { ImageConfig, ImageManifest } from '../image/index.ts';
import { parseConfig } from '../image/index.ts';
import type { Platform } from '../llb/index.ts';
import type { ProgressSink, VertexRef } from '../progress/index.ts';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import type { RegistryClient } from './client.ts';
import { DefaultPlatform } from './platform.ts';
import { checkImageLimits } from '../image/index.ts';
import { fetchPlatformManifest } from './resolve-config.ts';
import { formatReference, familiarName, parseReference } from './reference.ts';

export interface PullOptions {
  client: RegistryClient;
  content: BlobReader & BlobWriter;
  /** As typed by a user: `busybox`, `127.0.0.1:5000/app:1`, `app@sha256:…`. */
  ref: string;
  platform?: Platform;
  progress?: ProgressSink;
  /** The vertex progress events are reported under. */
  vertex?: VertexRef;
}

export interface PullResult {
  /** The normalised reference: `docker.io/library/busybox:latest`. */
  ref: string;
  /** The single-platform manifest's digest. */
  digest: string;
  /** What the reference names in the registry: the index's digest for a multi-platform image, else `digest`. */
  repoDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

const progressIntervalMs = 100;

/**
 * Resolves `ref` for `platform` (default linux/amd64) and stores what running it needs.
 * Idempotent. Throws IMAGE_NOT_FOUND naming the ref (unknown repository, tag or platform),
 * REFERENCE_INVALID, DIGEST_MISMATCH, or a RegistryError (kind denied/unavailable).
 */
export async function pullImage(opts: PullOptions): Promise<PullResult> {
  const { client, content } = opts;
  const platform = opts.platform ?? DefaultPlatform;
  const ref = parseReference(opts.ref);
  const name = familiarName(ref);
  const origin = (digest: string) => ({ image: name, digest });

  const { fetched: top, manifest, named } = await fetchPlatformManifest(client, content, ref, platform);
  checkImageLimits(manifest, name);
  const report = blobProgressReporter(opts.progress, opts.vertex);
  const blobs = [manifest.config, ...manifest.layers];
  // settled, not all: a failed blob must not leave the others writing after pullImage has thrown
  const fetched = await Promise.allSettled(
    blobs.map((desc) =>
      client.transfers.add(async () => {
        if (await content.has(desc.digest)) return;
        await client.fetchBlob(ref, desc, content, (n) => report(desc.digest, n, desc.size));
        report(desc.digest, desc.size, desc.size, true);
      }),
    ),
  );
  const failed = fetched.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const config = parseConfig(await content.readBytes(manifest.config.digest), origin(manifest.config.digest));
  // the manifest last: a stored manifest means its blobs are all there, and its config reads
  await content.putBytes(top.bytes, { digest: top.digest });
  return { ref: formatReference(ref), digest: top.digest, repoDigest: named, manifest, config };
}

/**
 * Reports a blob's bytes as `vertex.progress` on `vertex`, at most every 100 ms per blob (and its
 * last count always): smooth for a tty, cheap for rawjson. Without a sink it reports nothing.
 */
export function blobProgressReporter(progress: ProgressSink | undefined, vertex: VertexRef | undefined): (digest: string, current: number, total: number, final?: boolean) => void {
  if (!progress || !vertex) return () => {};
  const last = new Map<string, { time: number; current: number; started: number }>();
  return (digest, current, total, final = false) => {
    const now = Date.now();
    const prev = last.get(digest);
    if (prev && (prev.current === current || (!final && now - prev.time < progressIntervalMs))) return;
    const started = prev?.started ?? now;
    last.set(digest, { time: now, current, started });
    // bytes, with when the blob started and (once whole) ended: a tty shows size and speed, plain a `done` line
    progress.emit({ type: 'vertex.progress', vertex, id: digest, current, total, label: `sha256:${digest.slice(7, 19)}`, unit: 'bytes', started, completed: current === total ? now : undefined });
  };
}
