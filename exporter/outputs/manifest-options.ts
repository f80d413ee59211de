// What an output changes in the manifest it writes, as BuildKit's image exporters do:
// `oci-mediatypes=false` gives Docker's media types (manifest v2 schema 2, which the oldest
// registries and `docker load` of old daemons want), `annotation.KEY` annotates the manifest,
// `annotation-index.KEY` puts an index around it that carries them. The layers are the same
// bytes under either name, so nothing but the manifest (and an index) is written.
import type { BlobWriter } from '../../src/content/index.ts';
import type { Descriptor, ImageIndex, ImageManifest } from '../../src/image/index.ts';
import { MediaTypes } from '../../src/image/index.ts';
import type { ImageView, ManifestOptions } from '../types.ts';

const dockerLayerType: Record<string, string> = {
  [MediaTypes.ociLayerGzip]: MediaTypes.dockerLayerGzip,
  [MediaTypes.ociLayer]: MediaTypes.dockerLayer,
};

/** A new view whose manifest has `opts`' media types and annotations; `view` itself when they change nothing. */
export async function applyManifestOptions(view: ImageView, opts: ManifestOptions, content: BlobWriter): Promise<ImageView> {
  const docker = opts.ociMediaTypes === false;
  const annotations = opts.annotations?.manifest ?? {};
  if (!docker && Object.keys(annotations).length === 0) return view;
  const configDescriptor: Descriptor = docker ? { ...view.configDescriptor, mediaType: MediaTypes.dockerConfig } : view.configDescriptor;
  const layers = view.layers.map((l) => (docker ? { ...l, descriptor: { ...l.descriptor, mediaType: dockerLayerType[l.descriptor.mediaType] ?? l.descriptor.mediaType } } : l));
  const merged = { ...view.manifest.annotations, ...annotations };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
    config: configDescriptor,
    layers: layers.map((l) => l.descriptor),
    ...(Object.keys(merged).length > 0 ? { annotations: merged } : {}),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const stored = await content.putBytes(manifestBytes);
  return {
    ...view,
    configDescriptor,
    layers,
    manifest,
    manifestBytes,
    manifestDescriptor: { mediaType: manifest.mediaType!, digest: stored.digest, size: stored.size },
  };
}

/**
 * What a store tag or a push names: the manifest, or (with `annotation-index.KEY`) an index
 * around it, annotated, whose one entry carries the image's platform.
 */
export async function topDescriptor(view: ImageView, opts: ManifestOptions, content: BlobWriter): Promise<Descriptor> {
  const annotations = opts.annotations?.index ?? {};
  const entryAnnotations = opts.annotations?.manifestDescriptor ?? {};
  if (Object.keys(annotations).length === 0 && Object.keys(entryAnnotations).length === 0) return view.manifestDescriptor;
  const { os, architecture, variant } = view.config;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [{
      ...view.manifestDescriptor,
      platform: { os, architecture, ...(variant ? { variant } : {}) },
      ...(Object.keys(entryAnnotations).length > 0 ? { annotations: entryAnnotations } : {}),
    }],
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const stored = await content.putBytes(Buffer.from(JSON.stringify(index)));
  return { mediaType: MediaTypes.ociIndex, digest: stored.digest, size: stored.size };
}
