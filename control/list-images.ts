// The rows `tsbuild images` prints.
import { openContentStore, openImageStore, readImage } from '../src/content/index.ts';
import { openDatabase, statePaths } from '../src/state/index.ts';

export interface ImageRow {
  repository: string;
  tag: string;
  imageId: string;
  created: number;
  size: number;
}

export async function listImages(stateRoot: string): Promise<ImageRow[]> {
  const paths = statePaths(stateRoot);
  const db = openDatabase(paths.db);
  try {
    const content = openContentStore(paths.content);
    const rows: ImageRow[] = [];
    for (const t of openImageStore({ content, db }).list()) {
      const { manifest } = await readImage(content, t.digest);
      const colon = t.name.lastIndexOf(':');
      const slash = t.name.lastIndexOf('/');
      const [repository, tag] = colon > slash ? [t.name.slice(0, colon), t.name.slice(colon + 1)] : [t.name, '<none>'];
      const size = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
      rows.push({ repository, tag, imageId: manifest.config.digest, created: t.created.getTime(), size });
    }
    return rows;
  } finally {
    db.close();
  }
}
