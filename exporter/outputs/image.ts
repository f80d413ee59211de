// type=image: the local image store, tagged under every name. The manifest and config are
// already stored by createImageView and the layers by the worker, so tagging is all that is left.
import type { BlobReader, ImageStore } from '../../src/content/index.ts';
import { ErrorCodes, notFound } from '../../src/errors/index.ts';
import type { ImageView } from '../types.ts';

export async function exportToStore(view: ImageView, out: { names: readonly string[] }, deps: { content: BlobReader; images: ImageStore }): Promise<void> {
  // a tag must never point at an image whose blobs are not all there
  for (const layer of view.layers) {
    if (!(await deps.content.has(layer.descriptor.digest))) {
      throw notFound(ErrorCodes.BLOB_NOT_FOUND, `layer ${layer.descriptor.digest} (diffID ${layer.diffId}) is not in the content store`);
    }
  }
  for (const name of out.names) deps.images.tag(name, view.manifestDescriptor);
}
