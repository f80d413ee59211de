// Reads an image archive into a content store, as `docker load` reads one: an OCI layout tar
// (index.json), a docker archive (manifest.json; Docker 25+ writes both), or the legacy docker
// archive (`<id>/layer.tar`, `<id>.json`, symlinks between layer directories), plain or gzipped.
// `tsbuild load` reads into the engine's store and names what it read; `tsbuild diff` reads into a
// private store of its own and compares.
//
// Nothing is extracted to a path: each regular entry streams into the content store, which names
// it by its digest (an entry under blobs/sha256/ must match its name), so an entry name such as
// `../../etc/passwd` can never write outside the store; such a name is refused all the same.
// The documents are validated (src/image) and every layer a manifest names must be in the archive.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { readImage, type BlobInfo, type ContentStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../src/errors/index.ts';
import type { Descriptor, ImageManifest } from '../src/image/index.ts';
import { MaxImageDocumentBytes, MediaTypes, RefNameAnnotation, parseConfig, parseIndex } from '../src/image/index.ts';
import type { Platform } from '../src/llb/index.ts';

export interface ArchiveImage {
  /** The image id (config digest). */
  id: string;
  /** The manifest digest stored. */
  digest: string;
  /** The names the archive gives it, as written there (RepoTags, else the layout's annotation). */
  names: string[];
  /** The platform the layout's index.json gives it, if any. */
  platform?: Platform;
}

export interface ArchiveReadOptions {
  /** How a document's messages name the archive: its path, or `standard input`. */
  source: string;
  /** How an ARCHIVE_INVALID message starts: `cannot load app.tar`. */
  prefix: string;
  /** The hint of an ARCHIVE_INVALID error. */
  hint: string;
  /** Called with each blob as it is stored (a lease holds it until the caller names it). */
  hold?: (digest: string) => void;
  signal?: AbortSignal;
}

// the archive's documents are read whole; real ones are a few kB (Docker bounds a config at 8 MiB)
const maxDocumentBytes = MaxImageDocumentBytes;
// a layout of a few images has tens of entries; this bounds the name maps a hostile tar could grow
const maxEntries = 100_000;
/**
 * An entry's name (and link target) at most PATH_MAX, and all the names kept at most 16 MiB: a PAX
 * header may hold a 4 MiB name, and 500 such entries (a 2 MB gzipped archive) exhausted the heap.
 */
const maxNameBytes = 4096;
const maxKeptNameBytes = 16 << 20;
/** Images one archive may list (index.json's manifests, manifest.json's entries): each is read and checked. */
const maxImages = 1000;
const documents = new Set(['manifest.json', 'index.json', 'repositories', 'oci-layout']);
const blobName = /^blobs\/sha256\/([a-f0-9]{64})$/;
const ContainerdNameAnnotation = 'io.containerd.image.name';

/** The archive file at `path`, gunzipped when it starts as gzip does; fs errors are the caller's to word. */
export async function openArchiveFile(path: string): Promise<Readable> {
  const head = Buffer.alloc(2);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const file = createReadStream(path);
  return head[0] === 0x1f && head[1] === 0x8b ? file.pipe(createGunzip()) : file;
}

/** Stores every blob of the tar `stream` in `content` and returns the images it holds. */
export async function readImageArchive(content: ContentStore, stream: Readable, opts: ArchiveReadOptions): Promise<ArchiveImage[]> {
  const reader = { content, opts };
  const archive = await readArchive(reader, stream);
  return archive.documents.has('index.json') ? fromLayout(reader, archive) : fromDockerArchive(reader, archive);
}

interface Reader {
  content: ContentStore;
  opts: ArchiveReadOptions;
}

interface Archive {
  documents: Map<string, Buffer>;
  files: Map<string, BlobInfo>;
  links: Map<string, string>;
}

function archiveError(r: Reader, why: string, cause?: unknown): TsbuildError {
  return new TsbuildError(`${r.opts.prefix}: ${why}`, {
    code: ErrorCodes.ARCHIVE_INVALID,
    kind: 'invalid',
    hint: r.opts.hint,
    ...(cause !== undefined && { cause }),
  });
}

/** An entry name as a path inside the archive; refuses one that leaves it. */
function entryPath(r: Reader, name: string): string {
  const p = posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/$/, '');
  if (posix.isAbsolute(p) || p === '..' || p.startsWith('../')) {
    throw new TsbuildError(`${r.opts.prefix}: entry "${name}" leads outside the archive`, { code: ErrorCodes.TAR_UNSAFE, kind: 'denied' });
  }
  return p;
}

async function readArchive(r: Reader, stream: Readable): Promise<Archive> {
  const archive: Archive = { documents: new Map(), files: new Map(), links: new Map() };
  const extract = tar.extract();
  let entries = 0;
  let keptNameBytes = 0;
  const done = (async () => {
    for await (const entry of extract) {
      r.opts.signal?.throwIfAborted();
      if (++entries > maxEntries) throw archiveError(r, `it has more than ${maxEntries} entries`);
      const h = entry.header;
      if (h.name.length > maxNameBytes || (h.linkname?.length ?? 0) > maxNameBytes) throw archiveError(r, `an entry's name or link target is longer than ${maxNameBytes} bytes`);
      keptNameBytes += h.name.length + (h.linkname?.length ?? 0);
      if (keptNameBytes > maxKeptNameBytes) throw archiveError(r, `its entries' names add up to more than ${maxKeptNameBytes} bytes`);
      const name = entryPath(r, h.name);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        if (documents.has(name)) {
          if ((h.size ?? 0) > maxDocumentBytes) throw archiveError(r, `${name} is ${h.size} bytes, more than a document may be (${maxDocumentBytes})`);
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          archive.documents.set(name, Buffer.concat(chunks));
          continue;
        }
        const m = blobName.exec(name);
        try {
          const info = await r.content.putStream(entry as unknown as AsyncIterable<Uint8Array>, m ? { digest: `sha256:${m[1]}` } : undefined);
          // a blob the store has already is not read by putStream: skip its bytes
          entry.resume();
          r.opts.hold?.(info.digest);
          archive.files.set(name, info);
        } catch (e) {
          if (isTsbuildError(e) && e.code === ErrorCodes.DIGEST_MISMATCH) throw archiveError(r, `entry ${name} does not hold the content its name says (${e.message})`, e);
          throw e;
        }
      } else {
        if ((h.type === 'symlink' || h.type === 'link') && h.linkname) {
          // a legacy docker archive links a repeated layer to the first copy
          const target = h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname) : h.linkname;
          archive.links.set(name, entryPath(r, target));
        }
        entry.resume();
      }
    }
  })();
  stream.on('error', (e) => extract.destroy(e));
  stream.pipe(extract);
  try {
    await done;
  } catch (e) {
    stream.destroy();
    if (isTsbuildError(e)) throw e;
    throw archiveError(r, `it is not a readable tar archive (${(e as Error).message})`, e);
  }
  return archive;
}

function fileOf(r: Reader, archive: Archive, name: string, what: string): BlobInfo {
  let p = posix.normalize(name.replace(/^(\.\/)+/, ''));
  for (let hops = 0; hops < 10 && !archive.files.has(p) && archive.links.has(p); hops++) p = archive.links.get(p)!;
  const info = archive.files.get(p);
  if (!info) throw archiveError(r, `${what} "${name}" is not in the archive`);
  return info;
}

function parseJson<T>(r: Reader, archive: Archive, name: string): T {
  try {
    return JSON.parse(archive.documents.get(name)!.toString('utf8')) as T;
  } catch (e) {
    throw archiveError(r, `${name} is not valid JSON (${(e as Error).message})`, e);
  }
}

/** Docker's manifest.json: one entry per image. */
interface DockerEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

function dockerEntries(r: Reader, archive: Archive): DockerEntry[] {
  if (!archive.documents.has('manifest.json')) return [];
  const entries = parseJson<unknown>(r, archive, 'manifest.json');
  if (!Array.isArray(entries)) throw archiveError(r, 'manifest.json is not a list of images');
  if (entries.length > maxImages) throw archiveError(r, `manifest.json lists ${entries.length} images, more than the ${maxImages} one archive may hold`);
  return entries as DockerEntry[];
}

function repoTags(r: Reader, entry: DockerEntry): string[] {
  if (entry.RepoTags === undefined || entry.RepoTags === null) return [];
  if (!Array.isArray(entry.RepoTags) || !entry.RepoTags.every((t) => typeof t === 'string')) throw archiveError(r, 'manifest.json: RepoTags is not a list of names');
  return entry.RepoTags as string[];
}

async function fromLayout(r: Reader, archive: Archive): Promise<ArchiveImage[]> {
  const source = r.opts.source;
  let index;
  try {
    index = parseIndex(archive.documents.get('index.json')!, { image: source, digest: 'index.json' });
  } catch (e) {
    throw archiveError(r, `index.json: ${(e as Error).message}`, e);
  }
  if (index.manifests.length > maxImages) throw archiveError(r, `index.json lists ${index.manifests.length} manifests, more than the ${maxImages} one archive may hold`);
  // docker's RepoTags by config digest, read once (not once per index entry)
  const dockerNames = new Map<string, string[]>();
  for (const e of dockerEntries(r, archive)) {
    if (typeof e.Config !== 'string') continue;
    const id = fileOf(r, archive, e.Config, 'config').digest;
    dockerNames.set(id, [...(dockerNames.get(id) ?? []), ...repoTags(r, e)]);
  }
  const loaded = new Map<string, ArchiveImage>();
  // an attestation (BuildKit's provenance, platform unknown/unknown) is no image to load or compare
  const images = index.manifests.filter((d) => d.platform?.os !== 'unknown' && d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const seen = new Set<string>();
  for (const desc of images) {
    // an entry listed again (same manifest, same name) adds nothing
    const key = `${desc.digest}\0${desc.annotations?.[ContainerdNameAnnotation] ?? ''}\0${desc.annotations?.[RefNameAnnotation] ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (!(await r.content.has(desc.digest))) throw archiveError(r, `index.json names ${desc.digest}, which is not in the archive`);
    const image = await readImage(r.content, desc.digest, undefined, source);
    await checkLayers(r, image.manifest);
    const id = image.manifest.config.digest;
    // names: docker's RepoTags for this config when there are any, else the layout's annotations
    const fromDocker = dockerNames.get(id) ?? [];
    const annotated = desc.annotations?.[ContainerdNameAnnotation] ?? desc.annotations?.[RefNameAnnotation];
    const names = fromDocker.length > 0 ? fromDocker : annotated !== undefined && /[:/]/.test(annotated) ? [annotated] : [];
    const prev = loaded.get(image.digest);
    loaded.set(image.digest, { id, digest: image.digest, names: [...new Set([...(prev?.names ?? []), ...names])], ...(desc.platform && { platform: desc.platform }) });
  }
  return [...loaded.values()];
}

async function checkLayers(r: Reader, manifest: ImageManifest): Promise<void> {
  for (const layer of manifest.layers) {
    if (!(await r.content.has(layer.digest))) throw archiveError(r, `layer ${layer.digest} of its image is not in the archive`);
  }
}

async function fromDockerArchive(r: Reader, archive: Archive): Promise<ArchiveImage[]> {
  const entries = dockerEntries(r, archive);
  if (entries.length === 0) throw archiveError(r, archive.documents.has('manifest.json') ? 'its manifest.json lists no image' : 'it has neither index.json (an OCI layout) nor manifest.json (a docker archive)');
  const loaded: ArchiveImage[] = [];
  for (const entry of entries) {
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw archiveError(r, 'manifest.json: an entry lacks Config or Layers');
    }
    const configInfo = fileOf(r, archive, entry.Config, 'config');
    if (configInfo.size > maxDocumentBytes) throw archiveError(r, `config ${entry.Config} is ${configInfo.size} bytes, more than a config may be`);
    const configBytes = await r.content.readBytes(configInfo.digest);
    let config;
    try {
      config = parseConfig(configBytes, { image: r.opts.source, digest: configInfo.digest });
    } catch (e) {
      throw archiveError(r, `config ${entry.Config}: ${(e as Error).message}`, e);
    }
    const layerNames = entry.Layers as string[];
    if (layerNames.length !== config.rootfs.diff_ids.length) throw archiveError(r, `manifest.json lists ${layerNames.length} layers, its config ${config.rootfs.diff_ids.length}`);
    const layers: Descriptor[] = [];
    for (const [i, l] of layerNames.entries()) {
      const info = fileOf(r, archive, l, 'layer');
      const mediaType = await layerType(r.content, info.digest);
      if (mediaType === MediaTypes.ociLayer && info.digest !== config.rootfs.diff_ids[i]) {
        throw archiveError(r, `layer ${l} has digest ${info.digest}, but its config says diff_id ${config.rootfs.diff_ids[i]}`);
      }
      layers.push({ mediaType, digest: info.digest, size: info.size });
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: configInfo.digest, size: configInfo.size }, layers };
    const stored = await r.content.putBytes(JSON.stringify(manifest));
    loaded.push({ id: configInfo.digest, digest: stored.digest, names: repoTags(r, entry) });
  }
  return loaded;
}

/** A layer's media type from its first bytes: gzip, zstd, or a plain tar. */
async function layerType(content: ContentStore, digest: string): Promise<string> {
  const fh = await open(content.path(digest), 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (head[0] === 0x1f && head[1] === 0x8b) return MediaTypes.ociLayerGzip;
    if (head.readUInt32LE(0) === 0xfd2fb528) return MediaTypes.ociLayerZstd;
    return MediaTypes.ociLayer;
  } finally {
    await fh.close();
  }
}
