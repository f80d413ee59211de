// An image to list or compare, wherever it is: an image of the local store (a tag, a manifest
// digest or an image id), an OCI layout directory, or a tarball (`-o type=oci`, `type=docker`,
// `docker save`, `skopeo copy oci-archive:`). A tarball is read as `tsbuild load` reads one, into a
// private content store in a temp directory, so a hostile one can write nowhere else.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openContentStore, readImage, type BlobReader } from '../src/content/index.ts';
import { ErrorCodes, invalid, notFound } from '../src/errors/index.ts';
import { MediaTypes, type ImageConfig } from '../src/image/index.ts';
import { DefaultPlatform, selectManifest } from '../src/registry/platform.ts';
import type { EngineParts } from './engine.ts';
import { openArchiveFile, readImageArchive } from './image-archive.ts';
import { openLayoutBlobs } from './layout-blobs.ts';

export interface ImageSource {
  /** How messages name it: the reference or path given. */
  name: string;
  /** The image id (config digest). */
  id: string;
  config: ImageConfig;
  /** The layer blobs, bottom first, each opened when asked. */
  layers: { name: string; open(): Promise<Readable> }[];
  /** Removes what opening it unpacked. */
  close(): void;
}

/** Opens `ref`: an existing path is a layout or a tarball, anything else a reference into `store`. */
export async function openImageSource(ref: string, store: () => Promise<Pick<EngineParts, 'content' | 'images'>>): Promise<ImageSource> {
  if (existsSync(ref)) {
    if (!statSync(ref).isDirectory()) return fromArchive(ref, ref, false);
    if (existsSync(join(ref, 'index.json'))) return fromLayoutDir(ref, ref);
    if (existsSync(join(ref, 'manifest.json'))) return fromArchive(ref, ref, true);
    throw invalid(ErrorCodes.IMAGE_INVALID, `${ref} is neither an OCI layout nor a docker archive: it has no index.json or manifest.json`);
  }
  const { content, images } = await store();
  const digest = images.resolve(ref)?.digest ?? findById(ref, images, content);
  if (!digest) throw notFound(ErrorCodes.IMAGE_NOT_FOUND, `no image ${ref} in the local store, and no file or directory of that name`, { hint: 'tsbuild images lists the stored images; give a path to compare an OCI layout or an image tarball' });
  return fromStore(content, digest, ref, () => {});
}

// an image id as docker prints it (sha256:hex or a prefix of the hex, 12 digits at least): the config digest
function findById(ref: string, images: Pick<EngineParts, 'images'>['images'], content: BlobReader): string | undefined {
  const hex = ref.replace(/^sha256:/, '');
  if (!/^[a-f0-9]{12,64}$/.test(hex)) return undefined;
  for (const row of images.list()) {
    try {
      const manifest = JSON.parse(readFileSync(content.path(row.digest), 'utf8')) as { config?: { digest?: string } };
      if (manifest.config?.digest?.slice(7).startsWith(hex)) return row.digest;
    } catch {
      // an index or a missing blob: not this one
    }
  }
  return undefined;
}

async function fromLayoutDir(dir: string, name: string): Promise<ImageSource> {
  const blobs = openLayoutBlobs(dir, name);
  const index = readJson(join(dir, 'index.json'), name) as { manifests?: { digest: string; mediaType?: string; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }[] };
  const entries = (index.manifests ?? []).filter((m) => m.platform?.os !== 'unknown' && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  if (entries.length === 0) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: index.json lists no image`);
  const entry = entries.length === 1 ? entries[0] : selectManifest({ schemaVersion: 2, manifests: entries } as Parameters<typeof selectManifest>[0], DefaultPlatform, name);
  return fromStore(blobs, entry.digest, name, () => {});
}

/**
 * An image tarball, or a directory holding a docker archive (`tar -x` of `docker save`): read as
 * `tsbuild load` reads one (image-archive.ts), into a private content store removed on close.
 */
async function fromArchive(path: string, name: string, isDir: boolean): Promise<ImageSource> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-image-'));
  const close = () => rmSync(dir, { recursive: true, force: true });
  try {
    const content = openContentStore(dir);
    // a directory is read through GNU tar, which writes its files (and the links a legacy archive has between layers) as they are
    const stream = isDir ? spawn('tar', ['-C', path, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'ignore'] }).stdout : await openArchiveFile(path);
    const images = await readImageArchive(content, stream, { source: name, prefix: `cannot read ${name} as an image`, hint: 'give an OCI layout (directory or tar), a docker archive or a stored image' });
    if (images.length === 0) throw invalid(ErrorCodes.IMAGE_INVALID, `${name} holds no image`);
    const image = images.length === 1 ? images[0] : selectManifest({ schemaVersion: 2, manifests: images.map((i) => ({ mediaType: MediaTypes.ociManifest, digest: i.digest, size: 0, ...(i.platform && { platform: i.platform }) })) }, DefaultPlatform, name);
    return await fromStore(content, image.digest, name, close);
  } catch (e) {
    close();
    throw e;
  }
}

async function fromStore(blobs: BlobReader, digest: string, name: string, close: () => void): Promise<ImageSource> {
  const image = await readImage(blobs, digest, DefaultPlatform, name);
  return {
    name,
    id: image.manifest.config.digest,
    config: image.config,
    layers: image.manifest.layers.map((l) => ({ name: l.digest, open: () => blobs.open(l.digest, { size: l.size }) })),
    close,
  };
}

function readJson(path: string, name: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: ${path.slice(path.lastIndexOf('/') + 1)} is not valid JSON: ${(e as Error).message}`);
  }
}
