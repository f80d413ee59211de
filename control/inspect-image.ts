// `tsbuild inspect` and `tsbuild history`: a stored image described as `docker image inspect` and
// `docker history` describe it (the same field names, so scripts written for docker read it).
import { unpackedLayerSize, type ContentStore, type ImageStore } from '../src/content/index.ts';
import type { ContainerConfig, ImageManifest } from '../src/image/index.ts';
import { parseReference, familiarName } from '../src/registry/index.ts';
import { findImage, type StoredImage } from './find-image.ts';

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  /** Bytes of the image's blobs (config and layers as stored). */
  Size: number;
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  /** The manifest digest names point at (not in docker's output; tsbuild's own). */
  Descriptor: { mediaType: string; digest: string; size: number };
}

export interface HistoryRow {
  /** The image id on the newest entry; `<missing>` on the others, as docker shows them. */
  id: string;
  /** ISO time, or '' when the entry has none. */
  created: string;
  createdBy: string;
  /** Bytes of the layer the entry made (0 for an entry without a layer). */
  size: number;
  comment: string;
  emptyLayer: boolean;
}

type Stores = { content: ContentStore; images: ImageStore };

export async function inspectImage(stores: Stores, text: string): Promise<ImageInspect> {
  const image = await findImage(stores, text);
  const { config, manifest } = image;
  return {
    Id: image.id,
    RepoTags: image.names,
    RepoDigests: repoDigests(stores.images, image),
    Parent: '',
    Comment: config.history?.at(-1)?.comment ?? '',
    Created: config.created ?? '',
    DockerVersion: '',
    Author: config.author ?? '',
    Config: config.config ?? {},
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: await imageSize(stores.content, manifest),
    RootFS: { Type: config.rootfs.type, Layers: [...config.rootfs.diff_ids] },
    Metadata: { LastTagTime: image.stored.toISOString() },
    Descriptor: { mediaType: image.target.mediaType, digest: image.target.digest, size: image.target.size },
  };
}

/** Newest entry first, as `docker history` lists them. */
export async function imageHistory(stores: Stores, text: string): Promise<HistoryRow[]> {
  const image = await findImage(stores, text);
  const rows: HistoryRow[] = [];
  let layer = 0;
  for (const h of image.config.history ?? []) {
    const empty = h.empty_layer === true;
    const desc = empty ? undefined : image.manifest.layers[layer++];
    const size = desc ? await unpackedLayerSize(stores.content, desc) : 0;
    rows.push({ id: '<missing>', created: h.created ?? '', createdBy: h.created_by ?? '', size, comment: h.comment ?? '', emptyLayer: empty });
  }
  rows.reverse();
  if (rows.length > 0) rows[0].id = image.id;
  return rows;
}

/**
 * For each repository (familiar form) the image is named in or was pushed to or pulled from, the
 * digests its registry has it under, newest first (recorded by push and pull), else the stored
 * manifest's digest (a valid local reference, as docker's containerd store gives for a built image).
 */
export function digestsByRepository(images: ImageStore, image: Pick<StoredImage, 'id' | 'names' | 'target'>): Map<string, string[]> {
  const repoOf = (name: string) => familiarName({ ...parseReference(name), tag: undefined, digest: undefined });
  const out = new Map<string, string[]>();
  for (const r of images.repoDigests(image.id)) {
    const repo = repoOf(r.repository);
    out.set(repo, [...(out.get(repo) ?? []), r.digest]);
  }
  for (const name of image.names) if (!out.has(repoOf(name))) out.set(repoOf(name), [image.target.digest]);
  return out;
}

/** inspect's RepoDigests: `repo@digest` for each of digestsByRepository. */
function repoDigests(images: ImageStore, image: Pick<StoredImage, 'id' | 'names' | 'target'>): string[] {
  return [...digestsByRepository(images, image)].flatMap(([repo, digests]) => digests.map((d) => `${repo}@${d}`));
}

/** An image's size as docker gives it: its layers unpacked (src/content/layer-size.ts). */
export async function imageSize(content: ContentStore, manifest: ImageManifest): Promise<number> {
  let size = 0;
  for (const l of manifest.layers) size += await unpackedLayerSize(content, l);
  return size;
}
