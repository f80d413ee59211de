// `tsbuild save`: stored images as an archive, through the exporter's own outputs: a docker archive
// (`docker load` reads it; it is an OCI layout too) or, with `--format oci`, an OCI layout tar.
// Every argument must name the same image (several names of one image are all kept in the
// archive): the exporter writes one image per archive.
import { exportImage } from '../exporter/index.ts';
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { EngineParts } from './engine.ts';
import { findImage, isImageId } from './find-image.ts';
import { storedImageView } from './stored-view.ts';

export interface SaveOptions {
  /** The archive to write (replaced whole, or not at all on failure). */
  dest: string;
  format: 'docker' | 'oci';
  signal?: AbortSignal;
}

export interface SaveResult {
  id: string;
  names: string[];
}

export async function saveImages(parts: EngineParts, refs: readonly string[], opts: SaveOptions): Promise<SaveResult> {
  if (refs.length === 0) throw invalid(ErrorCodes.OPTION_INVALID, 'tsbuild save needs at least one image', { hint: 'tsbuild save -o app.tar app:latest' });
  const images = await Promise.all(refs.map((r) => findImage(parts, r)));
  const ids = [...new Set(images.map((i) => i.id))];
  if (ids.length > 1) {
    throw invalid(ErrorCodes.OPTION_INVALID, `tsbuild save writes one image per archive; ${refs.join(', ')} name ${ids.length} images (${ids.map((i) => i.slice(7, 19)).join(', ')})`, {
      hint: 'save each image to its own file: tsbuild save -o a.tar IMAGE_A; tsbuild save -o b.tar IMAGE_B',
    });
  }
  // names given by name are kept in the archive (RepoTags), as docker save does; an id names none
  const names = [...new Set(refs.filter((r) => !isImageId(r) && !r.includes('@') && !/^[0-9a-f]+$/.test(r)))];
  const view = await storedImageView(parts.content, images[0]);
  const output = opts.format === 'oci' ? { type: 'oci' as const, dest: opts.dest, tar: true, names } : { type: 'docker' as const, dest: opts.dest, names };
  await exportImage(view, output, { content: parts.content, images: parts.images, signal: opts.signal });
  return { id: view.configDescriptor.digest, names };
}
