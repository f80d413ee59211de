// Finding a stored image the way docker does for `inspect`, `rmi`, `tag`, `save`, `push` and `FROM`:
// a name first (`app`, `app:1`, `app@sha256:…`), then an image id (the config digest, as `tsbuild
// images` shows it): whole (`sha256:<64 hex>`, `<64 hex>`) or any unique prefix of its hex.
import { readImage, type ContentStore, type ImageRecord, type ImageStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError, notFound } from '../src/errors/index.ts';
import type { Descriptor, ImageConfig, ImageManifest } from '../src/image/index.ts';
import type { Platform } from '../src/llb/index.ts';

export interface StoredImage {
  /** What the tag or record names: a manifest, or an index whose `platform` entry is `digest`. */
  target: Descriptor;
  /** The single-platform manifest's digest. */
  digest: string;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The config digest: the image id. */
  id: string;
  /** The tags naming `target`, familiar form (`app:latest`); empty for a dangling image. */
  names: string[];
  /** When it was last tagged or stored. */
  stored: Date;
}

interface Stores {
  content: ContentStore;
  images: ImageStore;
}

const idPattern = /^(?:sha256:)?([0-9a-f]{1,64})$/;

/** What readImage throws for a stored image it cannot read (a blob gone or damaged, a document too large): rmi still takes its names. */
export const unreadableCodes = new Set<string>([ErrorCodes.IMAGE_INVALID, ErrorCodes.BLOB_NOT_FOUND, ErrorCodes.DIGEST_MISMATCH]);

/** Whether `text` can only be an image id (docker never takes a 64-hex or `sha256:` string as a name). */
export function isImageId(text: string): boolean {
  return /^(?:sha256:[0-9a-f]{1,64}|[0-9a-f]{64})$/.test(text);
}

/** Every stored image (tagged or dangling), one entry per target, in the store's name order. */
export async function storedImages(stores: Stores, platform?: Platform): Promise<StoredImage[]> {
  const byTarget = new Map<string, ImageRecord[]>();
  for (const r of stores.images.list()) byTarget.set(r.digest, [...(byTarget.get(r.digest) ?? []), r]);
  const out: StoredImage[] = [];
  for (const [digest, records] of byTarget) {
    // a damaged store is said (DIGEST_MISMATCH, BLOB_NOT_FOUND with what to do), not hidden; but a
    // dangling image holds no blob (src/state/leases.ts), so one whose blobs went is passed over
    const dangling = records.every((r) => r.dangling);
    const image = await readImage(stores.content, digest, platform, dangling ? digest : records[0].name).catch((e: unknown) => {
      if (dangling && isTsbuildError(e) && e.code === ErrorCodes.BLOB_NOT_FOUND) return undefined;
      // one image that cannot be read: said, with the way to take it out (rmi takes such a name)
      if (!dangling && isTsbuildError(e) && unreadableCodes.has(e.code)) e.hint ??= `remove it: tsbuild rmi ${records.filter((r) => !r.dangling).map((r) => r.name).join(' ')}`;
      throw e;
    });
    if (image) out.push(storedImage(records, image));
  }
  return out;
}

function storedImage(records: ImageRecord[], image: { digest: string; manifest: ImageManifest; config: ImageConfig }): StoredImage {
  const first = records[0];
  return {
    target: { mediaType: first.mediaType, digest: first.digest, size: first.size },
    digest: image.digest,
    manifest: image.manifest,
    config: image.config,
    id: image.manifest.config.digest,
    names: records.filter((r) => !r.dangling).map((r) => r.name),
    stored: new Date(Math.max(...records.map((r) => r.created.getTime()))),
  };
}

/** The image `text` names, or undefined. Throws IMAGE_CONFLICT for an id prefix several images share. */
export async function lookupImage(stores: Stores, text: string, platform?: Platform): Promise<StoredImage | undefined> {
  if (!isImageId(text)) {
    let target: Descriptor | undefined;
    try {
      target = stores.images.resolve(text);
    } catch {
      // not a reference: it may still be an id prefix below
    }
    if (target) {
      const image = await readImage(stores.content, target.digest, platform, text);
      const records = stores.images.list().filter((r) => r.digest === target.digest);
      return storedImage(records.length > 0 ? records : [{ name: text, fullName: text, digest: target.digest, mediaType: target.mediaType, size: target.size, created: new Date() }], image);
    }
  }
  const m = idPattern.exec(text);
  if (!m) return undefined;
  const all = await storedImages(stores, platform);
  const hits = all.filter((i) => i.id.slice('sha256:'.length).startsWith(m[1]));
  // one image may be stored under two targets (an index and its manifest): the same id is one image
  const ids = new Set(hits.map((h) => h.id));
  if (ids.size > 1) {
    throw new TsbuildError(`image id prefix "${text}" is ambiguous: ${[...ids].map((id) => id.slice(7, 19)).join(', ')} all start with it`, {
      code: ErrorCodes.IMAGE_CONFLICT,
      kind: 'invalid',
      hint: 'give more of the id',
    });
  }
  if (hits.length <= 1) return hits[0];
  return { ...hits[0], names: [...new Set(hits.flatMap((h) => h.names))] };
}

/** As lookupImage, but a missing image is IMAGE_NOT_FOUND saying what was looked for. */
export async function findImage(stores: Stores, text: string, platform?: Platform): Promise<StoredImage> {
  const image = await lookupImage(stores, text, platform);
  if (!image) {
    throw notFound(ErrorCodes.IMAGE_NOT_FOUND, `no such image: ${text}`, { hint: 'tsbuild images lists the stored images; tsbuild pull fetches one from its registry' });
  }
  return image;
}
