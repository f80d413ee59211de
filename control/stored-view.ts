// A stored image as the exporter's read-only view, from its stored manifest and config bytes as they
// are (never re-serialised), so a pushed or saved image keeps its digest and id. Its layers reach the
// sinks through the exporter's own blob path (exporter/outputs/blobs.ts), as a build's do.
import { readImage, type ContentStore } from '../src/content/index.ts';
import type { ImageView } from '../exporter/index.ts';
import type { Descriptor } from '../src/image/index.ts';
import { MediaTypes } from '../src/image/index.ts';
import type { StoredImage } from './find-image.ts';

export async function storedImageView(content: ContentStore, image: StoredImage): Promise<ImageView> {
  const { manifest, config } = await readImage(content, image.digest);
  const manifestBytes = await content.readBytes(image.digest);
  const configBytes = await content.readBytes(manifest.config.digest);
  const manifestDescriptor: Descriptor = {
    mediaType: manifest.mediaType ?? (image.target.digest === image.digest ? image.target.mediaType : MediaTypes.ociManifest),
    digest: image.digest,
    size: manifestBytes.length,
  };
  return {
    config,
    configBytes,
    configDescriptor: { ...manifest.config },
    manifest,
    manifestBytes,
    manifestDescriptor,
    layers: manifest.layers.map((d, i) => ({ diffId: config.rootfs.diff_ids[i] ?? d.digest, descriptor: { ...d } })),
  };
}
