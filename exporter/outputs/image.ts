// type=image: the local image store, tagged under every name. The manifest and config are
// already stored by createImageView and the layers by the worker, so tagging is all that is left.
import type { BlobReader, ImageStore } from '../../src/content/index.ts';
import { ErrorCodes, notFound } from '../../src/errors/index.ts';
import type { Descriptor } from '../../src/image/index.ts';
import type { ImageView } from '../types.ts';

/** Tags `top` (the view's manifest, or an index around it) under every name. */
export async function exportToStore(view: ImageView, out: { names: readonly string[] }, deps: { content: BlobReader; images: ImageStore }, top: Descriptor = view.manifestDescriptor): Promise<void> {
  // a no-change rebuild: every name already points at this manifest, so there is nothing to check
  // or write (re-tagging would rewrite index.json and restamp the tag, as `docker images` does not)
  // (a name with a digest is never a tag: tag() says so)
  const changed = out.names.filter((name) => name.includes('@') || deps.images.resolve(name)?.digest !== top.digest);
  if (out.names.length > 0 && changed.length === 0) return;
  // a tag must never point at an image whose blobs are not all there
  for (const layer of view.layers) {
    if (!(await deps.content.has(layer.descriptor.digest))) {
      throw notFound(ErrorCodes.BLOB_NOT_FOUND, `layer ${layer.descriptor.digest} (diffID ${layer.diffId}) is not in the content store`);
    }
  }
  for (const name of changed) deps.images.tag(name, top);
  // an untagged build is kept as a dangling image (`<none>` in tsbuild images, usable by its id)
  if (out.names.length === 0) deps.images.keep(top);
}
