// The blobs every archive format carries: config, manifest and layers under blobs/sha256/.
import type { BlobReader } from '../../src/content/index.ts';
import { parseDigest } from '../../src/content/index.ts';
import { ErrorCodes, notFound } from '../../src/errors/index.ts';
import type { ImageView } from '../types.ts';
import type { Sink } from '../sink.ts';

export const blobPath = (digest: string) => `blobs/sha256/${parseDigest(digest)}`;

/**
 * Adds config, manifest and every layer blob of `view`; throws BLOB_NOT_FOUND naming a missing
 * layer and DIGEST_MISMATCH naming a damaged one (checked while copied, see src/content/verify-blob.ts).
 */
export async function addImageBlobs(sink: Sink, view: ImageView, content: BlobReader): Promise<void> {
  await sink.addBytes(blobPath(view.configDescriptor.digest), view.configBytes);
  await sink.addBytes(blobPath(view.manifestDescriptor.digest), view.manifestBytes);
  for (const layer of view.layers) {
    const info = await content.info(layer.descriptor.digest);
    if (!info) throw notFound(ErrorCodes.BLOB_NOT_FOUND, `layer ${layer.descriptor.digest} (diffID ${layer.diffId}) is not in the content store`);
    await sink.addStream(blobPath(layer.descriptor.digest), await content.open(layer.descriptor.digest, { size: layer.descriptor.size }), layer.descriptor.size);
  }
}
