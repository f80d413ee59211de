// `tsbuild save`: stored images as an archive, through the exporter's own outputs: a docker archive
// (`docker load` reads it; it is an OCI layout too) or, with `--format oci`, an OCI layout tar.
// Several images share one archive (exporter/outputs/archive.ts), each blob once.
import { exportArchive, exportImage } from '../exporter/index.ts';
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import { parseIndex } from '../src/image/index.ts';
import type { EngineParts } from './engine.ts';
import { findImage, isImageId, type StoredImage } from './find-image.ts';
import { storedImageView } from './stored-view.ts';

export interface SaveOptions {
  /** The archive to write (replaced whole, or not at all on failure). */
  dest: string;
  format: 'docker' | 'oci';
  signal?: AbortSignal;
}

export interface SaveResult {
  /** One per image written, in the order first named. */
  images: { id: string; names: string[] }[];
}

export async function saveImages(parts: EngineParts, refs: readonly string[], opts: SaveOptions): Promise<SaveResult> {
  if (refs.length === 0) throw invalid(ErrorCodes.OPTION_INVALID, 'tsbuild save needs at least one image', { hint: 'tsbuild save -o app.tar app:latest' });
  // names given by name are kept in the archive (RepoTags), as docker save does; an id names none
  const byId = new Map<string, { image: StoredImage; names: string[] }>();
  for (const ref of refs) {
    const image = await findImage(parts, ref);
    const entry = byId.get(image.id) ?? { image, names: [] };
    byId.set(image.id, entry);
    if (!isImageId(ref) && !ref.includes('@') && !/^[0-9a-f]+$/.test(ref) && !entry.names.includes(ref)) entry.names.push(ref);
  }
  const images = await Promise.all([...byId.values()].map(async ({ image, names }) => ({ view: await storedImageView(parts.content, image), names })));
  if (images.length === 1) {
    const [{ view, names }] = images;
    // an image stored as an index (annotation-index): in a layout its annotations are index.json's
    const index = opts.format === 'oci' ? await indexAnnotations(parts, [...byId.values()][0].image) : undefined;
    const output = opts.format === 'oci' ? { type: 'oci' as const, dest: opts.dest, tar: true, names, ...(index && { annotations: { manifest: {}, index, manifestDescriptor: {} } }) } : { type: 'docker' as const, dest: opts.dest, names };
    await exportImage(view, output, { content: parts.content, images: parts.images, signal: opts.signal });
  } else {
    await exportArchive(images, { dest: opts.dest, format: opts.format }, parts.content, opts.signal);
  }
  return { images: images.map(({ view, names }) => ({ id: view.configDescriptor.digest, names })) };
}

/** The annotations of the index an image is stored as (an index around its manifest), if any. */
async function indexAnnotations(parts: EngineParts, image: StoredImage): Promise<Record<string, string> | undefined> {
  if (image.target.digest === image.digest) return undefined;
  const index = parseIndex(await parts.content.readBytes(image.target.digest), { image: image.names[0] ?? image.id, digest: image.target.digest });
  return index.annotations && Object.keys(index.annotations).length > 0 ? index.annotations : undefined;
}
