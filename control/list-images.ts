// The rows `tsbuild images` prints.
import { readImage, type ContentStore, type ImageStore } from '../src/content/index.ts';

export interface ImageRow {
  repository: string;
  tag: string;
  imageId: string;
  created: number;
  size: number;
}

export async function listImages(stores: { content: ContentStore; images: ImageStore }): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  for (const t of stores.images.list()) {
    const { manifest } = await readImage(stores.content, t.digest);
    const colon = t.name.lastIndexOf(':');
    const slash = t.name.lastIndexOf('/');
    const [repository, tag] = colon > slash ? [t.name.slice(0, colon), t.name.slice(colon + 1)] : [t.name, '<none>'];
    const size = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
    rows.push({ repository, tag, imageId: manifest.config.digest, created: t.created.getTime(), size });
  }
  return rows;
}
