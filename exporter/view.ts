// Building the read-only ImageView every exporter consumes: the final config (diff_ids and
// history consistent with the kept layers) and the OCI manifest, both stored in the content store.
//
//   const view = await createImageView({ config, layers, content });
//   await exportImage(view, { type: 'oci', dest: 'app.tar', tar: true, names: ['app'] }, { content, images });
import { createHash } from 'node:crypto';
import type { BlobReader, BlobWriter } from '../src/content/index.ts';
import { readImage } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import type { Descriptor, ImageConfig, ImageManifest, LayerBlob } from '../src/image/index.ts';
import { MediaTypes } from '../src/image/index.ts';
import type { ImageLayer, ImageView } from './types.ts';
import { alignHistory } from './history.ts';

// Docker's layer media types name the same bytes; an OCI manifest must use the OCI names.
const ociLayerType: Record<string, string> = {
  [MediaTypes.dockerLayerGzip]: MediaTypes.ociLayerGzip,
  [MediaTypes.dockerLayer]: MediaTypes.ociLayer,
};

/**
 * Writes config and manifest blobs for `layers` on top of `config` and returns the view.
 * `config.rootfs.diff_ids` is ignored and rebuilt; `created` (e.g. from SOURCE_DATE_EPOCH) sets
 * `config.created`. Idempotent: the same inputs give the same bytes and digests.
 */
export async function createImageView(opts: { config: ImageConfig; layers: readonly LayerBlob[]; content: BlobWriter; created?: Date }): Promise<ImageView> {
  const created = opts.created?.toISOString();
  const kept = opts.layers.filter((l) => !l.empty);
  const config: ImageConfig = {
    ...opts.config,
    ...(created ? { created } : {}),
    rootfs: { type: 'layers', diff_ids: kept.map((l) => l.diffId) },
    history: alignHistory(opts.config.history, opts.layers, created ?? opts.config.created),
  };
  const layers: ImageLayer[] = kept.map((l) => ({
    diffId: l.diffId,
    descriptor: { mediaType: ociLayerType[l.mediaType] ?? l.mediaType, digest: l.digest, size: l.size },
  }));
  return viewOf(config, layers, opts.content);
}

async function viewOf(config: ImageConfig, layers: ImageLayer[], content: BlobWriter): Promise<ImageView> {
  const configBytes = Buffer.from(JSON.stringify(config));
  // the manifest names the config by its digest, known from the bytes: both are stored at once,
  // their fsyncs waited for together rather than one after the other
  const configDescriptor: Descriptor = { mediaType: MediaTypes.ociConfig, digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`, size: configBytes.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: configDescriptor,
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const [, m] = await Promise.all([content.putBytes(configBytes), content.putBytes(manifestBytes)]);
  return {
    config,
    configBytes,
    configDescriptor,
    manifest,
    manifestBytes,
    manifestDescriptor: { mediaType: MediaTypes.ociManifest, digest: m.digest, size: m.size },
    layers,
  };
}

/** A new view with `config` replaced (rootfs kept as the layers say); the old view is unchanged. */
export function withConfig(view: ImageView, config: ImageConfig, content: BlobWriter): Promise<ImageView> {
  return viewOf({ ...config, rootfs: { type: 'layers', diff_ids: view.layers.map((l) => l.diffId) } }, view.layers, content);
}

/** A new view whose config and history carry `created` (SOURCE_DATE_EPOCH): byte-reproducible images. */
export function withCreated(view: ImageView, created: Date, content: BlobWriter): Promise<ImageView> {
  const iso = created.toISOString();
  const history = view.config.history?.map((h) => ({ ...h, created: iso }));
  return withConfig(view, { ...view.config, created: iso, ...(history ? { history } : {}) }, content);
}

/** A new view with `layers` in place of the view's (the same diffs in other blobs): same config, so the same image id; a new manifest. */
export async function withLayers(view: ImageView, layers: readonly ImageLayer[], content: BlobWriter): Promise<ImageView> {
  if (layers.length !== view.layers.length || layers.some((l, i) => l.diffId !== view.layers[i].diffId)) {
    throw new TsbuildError('withLayers: the layers are not the same diffs as the view\'s', { code: ErrorCodes.OUTPUT_FAILED, kind: 'internal' });
  }
  const manifest: ImageManifest = { ...view.manifest, layers: layers.map((l) => l.descriptor) };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const m = await content.putBytes(manifestBytes);
  return { ...view, manifest, manifestBytes, manifestDescriptor: { ...view.manifestDescriptor, digest: m.digest, size: m.size }, layers: [...layers] };
}

/** The view of an image in the store (its manifest digest): what `tsbuild push` or `save` exports. */
export async function readImageView(content: BlobReader, manifestDigest: string): Promise<ImageView> {
  const { digest, manifest, config } = await readImage(content, manifestDigest);
  const manifestBytes = await content.readBytes(digest);
  const configBytes = await content.readBytes(manifest.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new TsbuildError(`image ${digest}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`, { code: ErrorCodes.IMAGE_INVALID, kind: 'invalid' });
  }
  return {
    config,
    configBytes,
    configDescriptor: manifest.config,
    manifest,
    manifestBytes,
    manifestDescriptor: { mediaType: manifest.mediaType ?? MediaTypes.ociManifest, digest, size: manifestBytes.length },
    layers: manifest.layers.map((descriptor, i) => ({ diffId: diffIds[i], descriptor })),
  };
}
