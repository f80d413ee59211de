// `tsbuild tag` and `tsbuild rmi`, with docker's rules: a tag moves to the new image; removing a
// name only untags it unless it was the image's last name; removing by id an image several names
// need is refused unless forced. Removal drops the records; the blobs go with the next prune or GC.
import type { ContentStore, ImageStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../src/errors/index.ts';
import { familiarName, parseReference } from '../src/registry/index.ts';
import { findImage, isImageId, storedImages, unreadableCodes } from './find-image.ts';

type Stores = { content: ContentStore; images: ImageStore };

export interface RemoveResult {
  /** Names removed, familiar form. */
  untagged: string[];
  /** The image id, when no name or record holds the image any more. */
  deleted?: string;
}

/** Points `target` (a name; a tag defaults to latest) at the image `source` names. Throws IMAGE_NOT_FOUND, REFERENCE_INVALID. */
export async function tagImage(stores: Stores, source: string, target: string): Promise<void> {
  // checked before the lookup: a bad target is the more useful error
  const ref = parseReference(target);
  if (ref.digest !== undefined) throw new TsbuildError(`cannot tag an image as "${target}": a tag name has no digest`, { code: ErrorCodes.REFERENCE_INVALID, kind: 'invalid', hint: 'name a tag: app:1.0' });
  const image = await findImage(stores, source);
  stores.images.tag(target, image.target);
}

export async function removeImage(stores: Stores, text: string, opts: { force?: boolean } = {}): Promise<RemoveResult> {
  const image = await findImage(stores, text).catch((e: unknown) => {
    // a name whose image cannot be read (a blob gone or damaged, a document too large) can still be
    // removed: otherwise nothing could take it out of the store, whose listing it fails
    if (!isImageId(text) && !text.includes('@') && resolves(stores.images, text) && isTsbuildError(e) && unreadableCodes.has(e.code)) return undefined;
    throw e;
  });
  if (!image) {
    stores.images.untag(text);
    return { untagged: [familiarName(parseReference(text))] };
  }
  // one image (config) may be stored under several manifests: built (tar layers) and pulled (gzip),
  // or loaded from archives of other formats. Docker has one image per id, so its names are all of
  // theirs, and deleting it deletes every copy
  // another image the store cannot read must not keep this one from going: then this copy alone
  const stored = (await storedImages(stores).catch(() => [image])).filter((i) => i.id === image.id);
  const copies = stored.some((c) => c.target.digest === image.target.digest) ? stored : [image, ...stored];
  const names = [...new Set(copies.flatMap((c) => c.names))];
  // a name (not an id, not name@digest): only that name goes, unless it is the last one
  const byName = !isImageId(text) && !text.includes('@') && resolves(stores.images, text);
  if (byName && names.length > 1) {
    const name = names.find((n) => sameName(n, text)) ?? text;
    stores.images.untag(text);
    return { untagged: [name] };
  }
  if (!byName && names.length > 1 && !opts.force) {
    throw new TsbuildError(`conflict: unable to delete ${image.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories: ${names.join(', ')}`, {
      code: ErrorCodes.IMAGE_CONFLICT,
      kind: 'precondition',
      hint: `remove it by name (tsbuild rmi ${names[0]}), or with every name (tsbuild rmi -f ${text})`,
    });
  }
  const untagged = [...new Set(copies.flatMap((c) => stores.images.remove(c.target.digest)))];
  stores.images.forgetRepoDigests(image.id);
  return { untagged, deleted: image.id };
}

function resolves(images: ImageStore, text: string): boolean {
  try {
    return images.resolve(text) !== undefined;
  } catch {
    return false;
  }
}

function sameName(a: string, b: string): boolean {
  try {
    const x = parseReference(a);
    const y = parseReference(b);
    return x.domain === y.domain && x.path === y.path && x.tag === y.tag;
  } catch {
    return false;
  }
}
