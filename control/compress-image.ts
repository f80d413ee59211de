// An image already in the store, its layers compressed for leaving the machine (`tsbuild push`,
// `save`): the local store keeps a built layer uncompressed, so a push of a stored image asks for
// each layer's blob in the push's compression. Each layer is found by the blob the image names
// (worker.layerOfBlob), made once (in parallel, from the stored blob: no snapshot needed) and
// remembered, so the next push reuses it; a layer no snapshot recorded (an image imported whole)
// is sent as it is stored. The config, and so the image id, is unchanged.
//
//   const view = await compressImage(worker, content, await readImageView(content, tag.digest), { compression: 'gzip', force: false });
import PQueue from 'p-queue';
import type { ImageLayer, ImageView, LayerCompression } from '../exporter/index.ts';
import { withLayers } from '../exporter/index.ts';
import type { BlobWriter } from '../src/content/index.ts';
import type { Worker } from '../worker/index.ts';

export async function compressImage(
  worker: Pick<Worker, 'layerOfBlob'>,
  content: BlobWriter,
  view: ImageView,
  compression: LayerCompression,
  opts: { parallelism?: number; signal?: AbortSignal } = {},
): Promise<ImageView> {
  const queue = new PQueue({ concurrency: Math.max(1, opts.parallelism ?? 2) });
  const layers = await Promise.all(
    view.layers.map((l) =>
      queue.add(async (): Promise<ImageLayer> => {
        opts.signal?.throwIfAborted();
        const info = await worker.layerOfBlob(l.descriptor.digest, { compression: compression.compression, level: compression.level, reuse: compression.force ? 'exact' : 'compressed', signal: opts.signal });
        if (!info) return l;
        return { diffId: l.diffId, descriptor: { mediaType: info.mediaType, digest: info.digest, size: info.size } };
      }),
    ),
  );
  if (layers.every((l, i) => l.descriptor.digest === view.layers[i].descriptor.digest)) return view;
  return withLayers(view, layers, content);
}
