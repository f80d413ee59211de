// An image already in the store, its layers compressed for leaving the machine (`tsbuild push`,
// `save`): the local store keeps a built layer uncompressed, so a push of a stored image asks for
// each layer's blob in the push's compression. Each layer is found by the blob the image names
// (worker.layerOfBlob), made once (in parallel, from the stored blob: no snapshot needed) and
// remembered, so the next push reuses it; a layer no snapshot recorded (an image imported whole)
// is sent as it is stored. The config, and so the image id, is unchanged.
//
//   const view = await compressImage(worker, content, await readImageView(content, tag.digest), { compression: 'gzip', force: false });
import type { Readable } from 'node:stream';
import PQueue from 'p-queue';
import type { ImageView, LayerCompression } from '../exporter/index.ts';
import type { BlobWriter } from '../src/content/index.ts';
import type { Descriptor } from '../src/image/index.ts';
import type { Worker } from '../worker/index.ts';

export async function compressImage(
  worker: Pick<Worker, 'layerOfBlob'>,
  content: BlobWriter,
  view: ImageView,
  compression: LayerCompression,
  opts: { parallelism?: number; signal?: AbortSignal } = {},
): Promise<ImageView> {
  const layers = await compressLayers(worker, view.layers.map((l) => l.descriptor), compression, opts);
  if (layers.every((l, i) => l.digest === view.layers[i].descriptor.digest)) return view;
  // imported here: `tsbuild push` uses compressLayers alone and need not load the exporter
  const { withLayers } = await import('../exporter/index.ts');
  return withLayers(view, view.layers.map((l, i) => ({ diffId: l.diffId, descriptor: layers[i] })), content);
}

/**
 * Each layer blob in `compression` (the same descriptor when no snapshot recorded it), in order.
 * `tap(layer)`: who takes a copy of that layer's blob while it is made (a push uploads it meanwhile).
 */
export async function compressLayers(
  worker: Pick<Worker, 'layerOfBlob'>,
  layers: readonly Descriptor[],
  compression: LayerCompression,
  opts: { parallelism?: number; signal?: AbortSignal; tap?: (layer: Descriptor) => ((blob: Readable) => void) | undefined } = {},
): Promise<Descriptor[]> {
  const queue = new PQueue({ concurrency: Math.max(1, opts.parallelism ?? 2) });
  // the layers that may be compressed now go first, the largest first: a blob made from a stored
  // tar is the long part of a push (its upload waits for its last byte), while a layer in the
  // compression asked for already is a few database reads, done meanwhile
  const first = (l: Descriptor) => (l.mediaType.endsWith(compression.compression) ? 1 : 0);
  const order = layers.map((_, i) => i).sort((a, b) => first(layers[a]) - first(layers[b]) || layers[b].size - layers[a].size);
  const out = new Array<Promise<Descriptor>>(layers.length);
  for (const i of order) out[i] = queue.add(() => compressLayer(layers[i]));
  return Promise.all(out);

  async function compressLayer(l: Descriptor): Promise<Descriptor> {
    opts.signal?.throwIfAborted();
    const info = await worker.layerOfBlob(l.digest, { compression: compression.compression, level: compression.level, reuse: compression.force ? 'exact' : 'compressed', signal: opts.signal, tap: opts.tap?.(l) });
    return info ? { mediaType: info.mediaType, digest: info.digest, size: info.size } : l;
  }
}
