// The rows `tsbuild images` prints: one per name, and one `<none>` row per dangling image (an
// untagged build or load), as `docker images` shows them.
import type { ContentStore, ImageStore } from '../src/content/index.ts';
import { storedImages } from './find-image.ts';
import { digestsByRepository, imageSize } from './inspect-image.ts';

export interface ImageRow {
  repository: string;
  tag: string;
  imageId: string;
  /** The image's `created` (config) as ms since the epoch; when it has none, when it was stored. */
  created: number;
  size: number;
  /** The digest the repository's registry has the image under (push, pull), else the stored manifest's. */
  digest: string;
  /** No tag names it. */
  dangling: boolean;
}

export async function listImages(stores: { content: ContentStore; images: ImageStore }): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  const images = await storedImages(stores);
  // one image (id) stored under several manifests (built and pulled, loaded from two archive
  // formats) is one image to docker: a <none> row only for an id no name holds, and once
  const named = new Set(images.filter((i) => i.names.length > 0).map((i) => i.id));
  const shown = new Set<string>();
  for (const image of images) {
    if (image.names.length === 0 && (named.has(image.id) || shown.has(image.id))) continue;
    shown.add(image.id);
    // the layers' unpacked sizes, as docker shows them: the same whether built (tars) or pulled (gzip)
    const size = await imageSize(stores.content, image.manifest);
    const configCreated = image.config.created === undefined ? NaN : Date.parse(image.config.created);
    const created = Number.isFinite(configCreated) ? configCreated : image.stored.getTime();
    const base = { imageId: image.id, created, size, digest: image.target.digest };
    if (image.names.length === 0) rows.push({ ...base, repository: '<none>', tag: '<none>', dangling: true });
    // the digest its registry has it under, the newest where a push or pull recorded any
    const digests = digestsByRepository(stores.images, image);
    for (const name of image.names) {
      const colon = name.lastIndexOf(':');
      const slash = name.lastIndexOf('/');
      const [repository, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
      rows.push({ ...base, digest: digests.get(repository)?.[0] ?? base.digest, repository, tag, dangling: false });
    }
  }
  return rows;
}
