// What converting a Dockerfile needs of a registry image: its single-platform manifest and its
// config, never its layers. The index (if any), the config and the manifest are stored; the layer
// blobs are fetched by the image op when it unpacks them (worker/ops/image.ts), so a rebuild whose
// steps are all cached downloads no layer at all.
//
//   const { ref, digest, config } = await resolveImageConfig({ client, content, ref: 'busybox', platform });
import type { BlobReader, BlobWriter } from '../content/index.ts';
import type { ImageConfig, ImageManifest } from '../image/index.ts';
import { IndexMediaTypes, ManifestMediaTypes, checkImageLimits, parseConfig, parseIndex, parseManifest } from '../image/index.ts';
import type { Platform } from '../llb/index.ts';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import type { FetchedManifest, RegistryClient } from './client.ts';
import { DefaultPlatform, selectManifest } from './platform.ts';
import { familiarName, formatReference, parseReference, type ImageReference } from './reference.ts';

/** The single-platform manifest `ref` names for `platform`, as fetched; an index on the way is stored. */
export async function fetchPlatformManifest(client: RegistryClient, content: BlobWriter, ref: ImageReference, platform: Platform): Promise<{ fetched: FetchedManifest; manifest: ImageManifest; named: string }> {
  const name = familiarName(ref);
  let top = await client.getManifest(ref);
  // what the reference names: an index, or the manifest itself
  const named = top.digest;
  if (IndexMediaTypes.includes(top.mediaType)) {
    const index = parseIndex(top.bytes, { image: name, digest: top.digest });
    await content.putBytes(top.bytes, { digest: top.digest });
    const chosen = selectManifest(index, platform, name);
    top = await client.getManifest(ref, chosen.digest);
  }
  if (!ManifestMediaTypes.includes(top.mediaType)) {
    throw new TsbuildError(`${name}: unsupported manifest type ${top.mediaType}`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'invalid' });
  }
  return { fetched: top, manifest: parseManifest(top.bytes, { image: name, digest: top.digest }), named };
}

export interface ResolveConfigOptions {
  client: RegistryClient;
  content: BlobReader & BlobWriter;
  /** As typed by a user: `busybox`, `127.0.0.1:5000/app:1`, `app@sha256:…`. */
  ref: string;
  platform?: Platform;
}

export interface ResolvedConfig {
  /** The normalised reference: `docker.io/library/busybox:latest`. */
  ref: string;
  /** The single-platform manifest's digest. */
  digest: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * Resolves `ref` for `platform` (default linux/amd64) and stores its manifest and config (not its
 * layers). Idempotent. Throws as pullImage does: IMAGE_NOT_FOUND naming the ref, REFERENCE_INVALID,
 * DIGEST_MISMATCH, or a RegistryError.
 */
export async function resolveImageConfig(opts: ResolveConfigOptions): Promise<ResolvedConfig> {
  const { client, content } = opts;
  const ref = parseReference(opts.ref);
  const { fetched, manifest } = await fetchPlatformManifest(client, content, ref, opts.platform ?? DefaultPlatform);
  checkImageLimits(manifest, familiarName(ref));
  await client.fetchBlob(ref, manifest.config, content);
  const config = parseConfig(await content.readBytes(manifest.config.digest), { image: familiarName(ref), digest: manifest.config.digest });
  // after its config: a stored manifest's config always reads (its layers come with the image op)
  await content.putBytes(fetched.bytes, { digest: fetched.digest });
  return { ref: formatReference(ref), digest: fetched.digest, manifest, config };
}

