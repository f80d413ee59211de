// A build whose target an imported cache holds (every step CACHED from --cache-from) and whose only
// outputs are pushes needs none of the target's bytes: the image is made from the layer blobs as
// the cache names them (the same gzip blobs, so the same manifest digest a full build pushes), and
// each blob reaches the target repository by cross-repository mount from the cache's repository on
// the same registry, or is found there already (HEAD). Only a blob that can be neither (a cache on
// another registry, or in a local directory) is fetched, just before its upload. See
// docs/remote-cache.md "Import is lazy".
//
// The image is not tagged in the local store: a tag there names an image whose blobs are all here
// (exporter/outputs/image.ts), and these are not. The build says so, and how to get it.
import { createImageView, type ExportResult, type ImageView, type OutputSpec } from '../exporter/index.ts';
import type { ContentStore } from '../src/content/index.ts';
import { MediaTypes, type Descriptor, type ImageConfig, type LayerBlob } from '../src/image/index.ts';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { RegistryClient } from '../src/registry/index.ts';
import type { ImportedCache } from '../solver/index.ts';
import type { LayerRecord } from '../worker/index.ts';
import type { CacheExportSpec } from './cache-spec.ts';

const gzipTypes: readonly string[] = [MediaTypes.ociLayerGzip, MediaTypes.dockerLayerGzip];

/**
 * Whether a build with these outputs can leave its target as an imported cache's layers: every
 * output is a push of a named image in gzip, OCI media types and no annotations (the manifest a
 * full build pushes), and no cache is exported (which would read the results' blobs).
 */
export function outputsTakeCachedLayers(outputs: readonly OutputSpec[], cacheTo: readonly CacheExportSpec[]): boolean {
  return cacheTo.length === 0 && outputs.length > 0 && outputs.every((o) =>
    o.type === 'image' && o.push && o.names.length > 0 && o.ociMediaTypes !== false && !o.annotations &&
    (o.compression === undefined || (o.compression.compression === 'gzip' && !o.compression.force && o.compression.level === undefined)));
}

/** Each layer as its gzip blob, bottom first; undefined when a layer has none (the target is then unpacked as before). */
export function cachedViewLayers(layers: readonly LayerRecord[]): LayerBlob[] | undefined {
  const out: LayerBlob[] = [];
  for (const l of layers) {
    const blob = l.blobs.find((b) => gzipTypes.includes(b.mediaType));
    if (!blob) return undefined;
    out.push({ diffId: l.diffId, digest: blob.digest, size: blob.size, mediaType: blob.mediaType, empty: false });
  }
  return out;
}

export interface PushCachedOptions {
  layers: readonly LayerBlob[];
  config: (layers: readonly LayerBlob[]) => ImageConfig;
  outputs: readonly OutputSpec[];
  imports: readonly ImportedCache[];
  content: ContentStore;
  registry: RegistryClient;
  /** Brings one blob into the content store (the imports' fetch): only for an upload that cannot mount. */
  fetch(blob: Descriptor, signal?: AbortSignal): Promise<void>;
  hold(digest: string): void;
  progress: ProgressSink;
  vertex: VertexRef;
  signal?: AbortSignal;
}

/** Makes the image from the cached layers and pushes it under every output's names. */
export async function pushCachedLayers(opts: PushCachedOptions): Promise<{ view: ImageView; exports: ExportResult[] }> {
  const { parseReference, pushImage } = await import('../src/registry/index.ts');
  const view = await createImageView({ config: opts.config(opts.layers), layers: opts.layers, content: opts.content });
  for (const d of [view.configDescriptor, view.manifestDescriptor]) opts.hold(d.digest);
  const sources = opts.imports.flatMap((i) => (i.ref === undefined ? [] : [parseReference(i.ref)]));
  const exports: ExportResult[] = [];
  for (const output of opts.outputs) {
    const names = 'names' in output ? output.names : [];
    for (const name of names) {
      opts.signal?.throwIfAborted();
      const target = parseReference(name);
      // the caches on the target's registry: their repositories hold the blobs to mount
      const mountFrom = [...new Set(sources.filter((s) => s.domain === target.domain && s.path !== target.path).map((s) => s.path))];
      await pushImage({ client: opts.registry, content: opts.content, ref: name, descriptor: view.manifestDescriptor, mountFrom, fetch: opts.fetch, signal: opts.signal, progress: opts.progress, vertex: opts.vertex });
      opts.progress.emit({ type: 'vertex.log', vertex: opts.vertex, stream: 'stdout', data: `pushed ${name} from the cache's layers; not stored locally (tsbuild pull ${name} to use it here)\n` });
    }
    exports.push({ digest: view.manifestDescriptor.digest, imageId: view.configDescriptor.digest, names: [...names] });
  }
  return { view, exports };
}

/** What the imported caches cost this build in downloads (≈0 when nothing had to be unpacked). */
export function reportCacheDownloads(imports: readonly ImportedCache[], progress: ProgressSink): void {
  for (const i of imports) {
    const vertex = { digest: `cache-downloads ${i.name}`, name: `downloaded from cache ${i.name}` };
    progress.emit({ type: 'vertex.started', vertex });
    progress.emit({ type: 'vertex.log', vertex, stream: 'stdout', data: `${i.downloaded.blobs} blobs, ${i.downloaded.bytes} bytes\n` });
    progress.emit({ type: 'vertex.done', vertex });
  }
}
