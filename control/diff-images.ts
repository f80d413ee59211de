// `tsbuild diff A B`: two images compared file by file and config by config, with the canonical
// listing of src/image/fs-listing.ts: what reproducibility checks ask ("did two builds give the
// same image, and where do they differ?"). Each image is listed from its own source
// (control/image-source.ts), so a stored image, an OCI layout and a tarball compare alike.
import { ImageFs, normalizedConfig } from '../src/image/fs-listing.ts';
import type { ImageSource } from './image-source.ts';

export interface ImageListing {
  name: string;
  id: string;
  /** One line per path (fs-listing.ts's format). */
  files: string[];
  /** The config fields a Dockerfile controls, as sorted JSON. */
  config: string;
}

export interface ImageDiff {
  a: { name: string; id: string };
  b: { name: string; id: string };
  /** Listing lines of paths only A has, only B has, and of paths both have with different lines. */
  onlyA: string[];
  onlyB: string[];
  changed: { a: string; b: string }[];
  /** The normalized configs when they differ. */
  config?: { a: string; b: string };
  identical: boolean;
}

export async function listImage(src: ImageSource): Promise<ImageListing> {
  const fs = new ImageFs();
  for (const layer of src.layers) await fs.applyLayer(await layer.open(), layer.name);
  return { name: src.name, id: src.id, files: fs.lines(), config: normalizedConfig(src.config) };
}

export function compareListings(a: ImageListing, b: ImageListing): ImageDiff {
  const byPath = (lines: string[]) => new Map(lines.map((l) => [l.slice(0, l.indexOf('\t')), l]));
  const pa = byPath(a.files);
  const pb = byPath(b.files);
  const onlyA = a.files.filter((l) => !pb.has(l.slice(0, l.indexOf('\t'))));
  const onlyB = b.files.filter((l) => !pa.has(l.slice(0, l.indexOf('\t'))));
  const changed = [...pa].filter(([p, l]) => pb.has(p) && pb.get(p) !== l).map(([p, l]) => ({ a: l, b: pb.get(p)! }));
  const config = a.config === b.config ? undefined : { a: a.config, b: b.config };
  return {
    a: { name: a.name, id: a.id },
    b: { name: b.name, id: b.id },
    onlyA,
    onlyB,
    changed,
    ...(config && { config }),
    identical: onlyA.length === 0 && onlyB.length === 0 && changed.length === 0 && !config,
  };
}
