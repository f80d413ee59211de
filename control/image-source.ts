// An image to list or compare, wherever it is: an image of the local store (a tag, a manifest
// digest or an image id), an OCI layout directory, or a tarball (`-o type=oci`, `type=docker`,
// `docker save`, `skopeo copy oci-archive:`). Tarballs are unpacked into a private temp directory
// first (regular files only, names that stay inside it), so a hostile one can write nowhere else.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { readImage, type BlobReader } from '../src/content/index.ts';
import { ErrorCodes, invalid, notFound } from '../src/errors/index.ts';
import type { ImageConfig } from '../src/image/index.ts';
import { DefaultPlatform, selectManifest } from '../src/registry/platform.ts';
import type { EngineParts } from './engine.ts';

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
    if (statSync(ref).isDirectory()) return fromLayoutDir(ref, ref, () => {});
    const dir = mkdtempSync(join(tmpdir(), 'tsbuild-image-'));
    try {
      await unpackArchive(ref, dir);
      return await fromLayoutDir(dir, ref, () => rmSync(dir, { recursive: true, force: true }));
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const { content, images } = await store();
  const digest = images.resolve(ref)?.digest ?? findById(ref, images, content);
  if (!digest) throw notFound(ErrorCodes.IMAGE_NOT_FOUND, `no image ${ref} in the local store, and no file or directory of that name`, { hint: 'tsbuild images lists the stored images; give a path to compare an OCI layout or an image tarball' });
  const image = await readImage(content, digest, DefaultPlatform, ref);
  return {
    name: ref,
    id: image.manifest.config.digest,
    config: image.config,
    layers: image.manifest.layers.map((l) => ({ name: l.digest, open: () => content.open(l.digest, { size: l.size }) })),
    close() {},
  };
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

/** A read-only view of `dir/blobs/<alg>/<hex>`; documents are checked against their digests by readImage. */
function dirBlobs(dir: string): BlobReader {
  const path = (digest: string) => {
    const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (!m) throw invalid(ErrorCodes.IMAGE_INVALID, `invalid digest "${digest}"`);
    return join(dir, 'blobs', 'sha256', m[1]);
  };
  const info = async (digest: string) => (existsSync(path(digest)) ? { digest, size: statSync(path(digest)).size } : undefined);
  return {
    has: async (d) => existsSync(path(d)),
    info,
    path,
    readBytes: async (d) => {
      if (!existsSync(path(d))) throw notFound(ErrorCodes.BLOB_NOT_FOUND, `blob ${d} is not in ${dir}`);
      return readFileSync(path(d));
    },
    open: async (d) => {
      if (!existsSync(path(d))) throw notFound(ErrorCodes.BLOB_NOT_FOUND, `blob ${d} is not in ${dir}`);
      return createReadStream(path(d));
    },
  };
}

async function fromLayoutDir(dir: string, name: string, close: () => void): Promise<ImageSource> {
  if (existsSync(join(dir, 'manifest.json')) && !existsSync(join(dir, 'index.json'))) return fromDockerArchive(dir, name, close);
  if (!existsSync(join(dir, 'index.json'))) {
    if (existsSync(join(dir, 'manifest.json'))) return fromDockerArchive(dir, name, close);
    throw invalid(ErrorCodes.IMAGE_INVALID, `${name} is neither an OCI layout nor a docker archive: it has no index.json or manifest.json`);
  }
  const blobs = dirBlobs(dir);
  const index = readJson(join(dir, 'index.json'), name) as { manifests?: { digest: string; mediaType?: string; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }[] };
  const entries = (index.manifests ?? []).filter((m) => m.platform?.os !== 'unknown' && m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  if (entries.length === 0) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: index.json lists no image`);
  const entry = entries.length === 1 ? entries[0] : selectManifest({ schemaVersion: 2, manifests: entries } as Parameters<typeof selectManifest>[0], DefaultPlatform, name);
  const image = await readImage(blobs, entry.digest, DefaultPlatform, name);
  return {
    name,
    id: image.manifest.config.digest,
    config: image.config,
    layers: image.manifest.layers.map((l) => ({ name: l.digest, open: () => blobs.open(l.digest) })),
    close,
  };
}

function fromDockerArchive(dir: string, name: string, close: () => void): ImageSource {
  const manifest = readJson(join(dir, 'manifest.json'), name) as { Config: string; Layers: string[] }[];
  if (!Array.isArray(manifest) || manifest.length !== 1) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: manifest.json must list exactly one image (it lists ${Array.isArray(manifest) ? manifest.length : 'none'})`);
  const inside = (p: string) => {
    const full = join(dir, p);
    if (!full.startsWith(`${dir}/`)) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: manifest.json names ${p}, outside the archive`);
    return full;
  };
  const configPath = inside(manifest[0].Config);
  const configBytes = readFileSync(configPath);
  return {
    name,
    id: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
    config: JSON.parse(configBytes.toString('utf8')) as ImageConfig,
    layers: manifest[0].Layers.map((l) => ({ name: l, open: async () => createReadStream(inside(l)) })),
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

/**
 * Unpacks the regular files of an image tarball under `dir`; a link to another file of the archive
 * (docker save shares a layer between images that way) becomes a copy of it; anything else is skipped.
 */
async function unpackArchive(path: string, dir: string): Promise<void> {
  const tar = extract();
  const links: [string, string][] = [];
  const clean = (name: string) => name.split('/').filter((p) => p !== '' && p !== '.');
  tar.on('entry', (h, body, next) => {
    const parts = clean(h.name);
    if ((h.type === 'symlink' || h.type === 'link') && parts.length > 0 && !parts.includes('..') && h.linkname) {
      const target = h.type === 'link' ? clean(h.linkname) : resolveInside(parts.slice(0, -1), h.linkname);
      if (target) links.push([join(dir, ...parts), join(dir, ...target)]);
    }
    if (h.type !== 'file' || parts.length === 0 || parts.includes('..')) {
      body.resume();
      return next();
    }
    const to = join(dir, ...parts);
    mkdir(dirname(to), { recursive: true })
      .then(() => open(to, 'wx'))
      .then((fh) => pipeline(body, fh.createWriteStream()))
      .then(() => next(), (e: unknown) => next(e as Error));
  });
  try {
    await pipeline(createReadStream(path), tar);
    for (const [link, target] of links) {
      if (!existsSync(target) || existsSync(link)) continue;
      await mkdir(dirname(link), { recursive: true });
      await copyFile(target, link);
    }
  } catch (e) {
    throw invalid(ErrorCodes.IMAGE_INVALID, `${path} is not a readable image tarball: ${(e as Error).message}`);
  }
}

// a symlink's target as archive path components, or undefined when it leaves the archive
function resolveInside(dirParts: string[], target: string): string[] | undefined {
  const out = target.startsWith('/') ? [] : [...dirParts];
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(p);
  }
  return out;
}
