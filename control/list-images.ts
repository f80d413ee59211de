// The rows `tsbuild images` prints: one per name, and one `<none>` row per dangling image (an
// untagged build or load), as `docker images` shows them.
import type { ContentStore, ImageStore } from '../src/content/index.ts';
import { storedImages } from './find-image.ts';

export interface ImageRow {
  repository: string;
  tag: string;
  imageId: string;
  /** The image's `created` (config) as ms since the epoch; when it has none, when it was stored. */
  created: number;
  size: number;
  /** The manifest digest the name points at. */
  digest: string;
  /** No tag names it. */
  dangling: boolean;
}

export async function listImages(stores: { content: ContentStore; images: ImageStore }): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  for (const image of await storedImages(stores)) {
    const size = image.manifest.config.size + image.manifest.layers.reduce((n, l) => n + l.size, 0);
    const configCreated = image.config.created === undefined ? NaN : Date.parse(image.config.created);
    const created = Number.isFinite(configCreated) ? configCreated : image.stored.getTime();
    const base = { imageId: image.id, created, size, digest: image.target.digest };
    if (image.names.length === 0) rows.push({ ...base, repository: '<none>', tag: '<none>', dangling: true });
    for (const name of image.names) {
      const colon = name.lastIndexOf(':');
      const slash = name.lastIndexOf('/');
      const [repository, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
      rows.push({ ...base, repository, tag, dangling: false });
    }
  }
  return rows;
}
