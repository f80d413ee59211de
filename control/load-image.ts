// `tsbuild load`: images from an archive into the store, as `docker load` reads them: an OCI layout
// tar (index.json), a docker archive (manifest.json; Docker 25+ writes both), or the legacy docker
// archive (`<id>/layer.tar`, `<id>.json`, symlinks between layer directories), plain or gzipped.
//
// Nothing is extracted to a path: each regular entry streams into the content store, which names
// it by its digest (an entry under blobs/sha256/ must match its name), so an entry name such as
// `../../etc/passwd` can never write outside the store; such a name is refused all the same.
// The documents are validated (src/image) and every layer a manifest names must be in the archive
// before any name points at it. Blobs are held by a lease until the names hold them.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { readImage, type BlobInfo } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../src/errors/index.ts';
import type { Descriptor, ImageManifest } from '../src/image/index.ts';
import { MediaTypes, RefNameAnnotation, parseConfig, parseIndex } from '../src/image/index.ts';
import { familiarName, parseReference } from '../src/registry/index.ts';
import type { EngineParts } from './engine.ts';

export interface LoadedImage {
  /** The image id (config digest). */
  id: string;
  /** The manifest digest stored. */
  digest: string;
  /** The names it was stored under (familiar form as given in the archive); empty: kept dangling. */
  names: string[];
}

// the archive's documents are read whole; real ones are a few kB (Docker bounds a config at 8 MiB)
const maxDocumentBytes = 8 * 1024 * 1024;
// a layout of a few images has tens of entries; this bounds the name maps a hostile tar could grow
const maxEntries = 100_000;
const documents = new Set(['manifest.json', 'index.json', 'repositories', 'oci-layout']);
const blobName = /^blobs\/sha256\/([a-f0-9]{64})$/;
const ContainerdNameAnnotation = 'io.containerd.image.name';

function archiveError(source: string, why: string, cause?: unknown): TsbuildError {
  return new TsbuildError(`cannot load ${source}: ${why}`, {
    code: ErrorCodes.ARCHIVE_INVALID,
    kind: 'invalid',
    hint: 'tsbuild load reads what `docker save`, `tsbuild save` and `-o type=oci|docker` write',
    ...(cause !== undefined && { cause }),
  });
}

interface Archive {
  documents: Map<string, Buffer>;
  files: Map<string, BlobInfo>;
  links: Map<string, string>;
}

/** Loads every image of the archive at `path` (`-` with `stdin`: read from there). */
export async function loadImages(parts: EngineParts, input: { path: string; stdin?: Readable; signal?: AbortSignal }): Promise<LoadedImage[]> {
  const source = input.path === '-' ? 'standard input' : input.path;
  const lease = parts.leases.create();
  try {
    const archive = await readArchive(parts, await openInput(input, source), source, (d) => lease.add('blob', d), input.signal);
    const loaded = archive.documents.has('index.json') ? await fromLayout(parts, archive, source) : await fromDockerArchive(parts, archive, source);
    for (const image of loaded) {
      lease.add('blob', image.digest);
      // checked before any name is stored; shown as docker shows them (`busybox:latest`)
      image.names = image.names.map((n) => familiarName(parseReference(n)));
    }
    for (const image of loaded) {
      const descriptor = await descriptorOf(parts, image.digest);
      if (image.names.length === 0) parts.images.keep(descriptor);
      for (const name of image.names) parts.images.tag(name, descriptor);
    }
    return loaded;
  } finally {
    lease.release();
  }
}

async function descriptorOf(parts: EngineParts, digest: string): Promise<Descriptor> {
  const bytes = await parts.content.readBytes(digest);
  const mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? MediaTypes.ociManifest;
  return { mediaType, digest, size: bytes.length };
}

async function openInput(input: { path: string; stdin?: Readable }, source: string): Promise<Readable> {
  if (input.path === '-') {
    if (!input.stdin) throw archiveError(source, 'there is no standard input to read');
    return input.stdin;
  }
  let head: Buffer;
  try {
    const fh = await open(input.path, 'r');
    try {
      head = Buffer.alloc(2);
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new TsbuildError(`cannot read ${input.path}: ${(e as Error).message}`, { code: ErrorCodes.FILE_UNREADABLE, kind: 'not-found', hint: 'name the archive to load: tsbuild load -i app.tar', cause: e });
  }
  const file = createReadStream(input.path);
  return head[0] === 0x1f && head[1] === 0x8b ? file.pipe(createGunzip()) : file;
}

/** An entry name as a path inside the archive; refuses one that leaves it. */
function entryPath(name: string, source: string): string {
  const p = posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/$/, '');
  if (posix.isAbsolute(p) || p === '..' || p.startsWith('../')) {
    throw new TsbuildError(`cannot load ${source}: entry "${name}" leads outside the archive`, { code: ErrorCodes.TAR_UNSAFE, kind: 'denied' });
  }
  return p;
}

async function readArchive(parts: EngineParts, stream: Readable, source: string, hold: (digest: string) => void, signal?: AbortSignal): Promise<Archive> {
  const archive: Archive = { documents: new Map(), files: new Map(), links: new Map() };
  const extract = tar.extract();
  let entries = 0;
  const done = (async () => {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      if (++entries > maxEntries) throw archiveError(source, `it has more than ${maxEntries} entries`);
      const h = entry.header;
      const name = entryPath(h.name, source);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        if (documents.has(name)) {
          if ((h.size ?? 0) > maxDocumentBytes) throw archiveError(source, `${name} is ${h.size} bytes, more than a document may be (${maxDocumentBytes})`);
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          archive.documents.set(name, Buffer.concat(chunks));
          continue;
        }
        const m = blobName.exec(name);
        try {
          const info = await parts.content.putStream(entry as unknown as AsyncIterable<Uint8Array>, m ? { digest: `sha256:${m[1]}` } : undefined);
          // a blob the store has already is not read by putStream: skip its bytes
          entry.resume();
          hold(info.digest);
          archive.files.set(name, info);
        } catch (e) {
          if (isTsbuildError(e) && e.code === ErrorCodes.DIGEST_MISMATCH) throw archiveError(source, `entry ${name} does not hold the content its name says (${e.message})`, e);
          throw e;
        }
      } else {
        if ((h.type === 'symlink' || h.type === 'link') && h.linkname) {
          // a legacy docker archive links a repeated layer to the first copy
          const target = h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname) : h.linkname;
          archive.links.set(name, entryPath(target, source));
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
    throw archiveError(source, `it is not a readable tar archive (${(e as Error).message})`, e);
  }
  return archive;
}

function fileOf(archive: Archive, name: string, source: string, what: string): BlobInfo {
  let p = posix.normalize(name.replace(/^(\.\/)+/, ''));
  for (let hops = 0; hops < 10 && !archive.files.has(p) && archive.links.has(p); hops++) p = archive.links.get(p)!;
  const info = archive.files.get(p);
  if (!info) throw archiveError(source, `${what} "${name}" is not in the archive`);
  return info;
}

function parseJson<T>(archive: Archive, name: string, source: string): T {
  try {
    return JSON.parse(archive.documents.get(name)!.toString('utf8')) as T;
  } catch (e) {
    throw archiveError(source, `${name} is not valid JSON (${(e as Error).message})`, e);
  }
}

/** Docker's manifest.json: one entry per image. */
interface DockerEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

function dockerEntries(archive: Archive, source: string): DockerEntry[] {
  if (!archive.documents.has('manifest.json')) return [];
  const entries = parseJson<unknown>(archive, 'manifest.json', source);
  if (!Array.isArray(entries)) throw archiveError(source, 'manifest.json is not a list of images');
  return entries as DockerEntry[];
}

function repoTags(entry: DockerEntry, source: string): string[] {
  if (entry.RepoTags === undefined || entry.RepoTags === null) return [];
  if (!Array.isArray(entry.RepoTags) || !entry.RepoTags.every((t) => typeof t === 'string')) throw archiveError(source, 'manifest.json: RepoTags is not a list of names');
  return entry.RepoTags as string[];
}

async function fromLayout(parts: EngineParts, archive: Archive, source: string): Promise<LoadedImage[]> {
  let index;
  try {
    index = parseIndex(archive.documents.get('index.json')!, { image: source, digest: 'index.json' });
  } catch (e) {
    throw archiveError(source, `index.json: ${(e as Error).message}`, e);
  }
  const docker = dockerEntries(archive, source);
  const loaded = new Map<string, LoadedImage>();
  for (const desc of index.manifests) {
    if (!(await parts.content.has(desc.digest))) throw archiveError(source, `index.json names ${desc.digest}, which is not in the archive`);
    const image = await readImage(parts.content, desc.digest, undefined, source);
    await checkLayers(parts, image.manifest, source);
    const id = image.manifest.config.digest;
    // names: docker's RepoTags for this config when there are any, else the layout's annotations
    const fromDocker = docker.filter((e) => typeof e.Config === 'string' && fileOf(archive, e.Config, source, 'config').digest === id).flatMap((e) => repoTags(e, source));
    const annotated = desc.annotations?.[ContainerdNameAnnotation] ?? desc.annotations?.[RefNameAnnotation];
    const names = fromDocker.length > 0 ? fromDocker : annotated !== undefined && /[:/]/.test(annotated) ? [annotated] : [];
    const prev = loaded.get(image.digest);
    loaded.set(image.digest, { id, digest: image.digest, names: [...new Set([...(prev?.names ?? []), ...names])] });
  }
  return [...loaded.values()];
}

async function checkLayers(parts: EngineParts, manifest: ImageManifest, source: string): Promise<void> {
  for (const layer of manifest.layers) {
    if (!(await parts.content.has(layer.digest))) throw archiveError(source, `layer ${layer.digest} of its image is not in the archive`);
  }
}

async function fromDockerArchive(parts: EngineParts, archive: Archive, source: string): Promise<LoadedImage[]> {
  const entries = dockerEntries(archive, source);
  if (entries.length === 0) throw archiveError(source, 'it has neither index.json (an OCI layout) nor manifest.json (a docker archive)');
  const loaded: LoadedImage[] = [];
  for (const entry of entries) {
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw archiveError(source, 'manifest.json: an entry lacks Config or Layers');
    }
    const configInfo = fileOf(archive, entry.Config, source, 'config');
    if (configInfo.size > maxDocumentBytes) throw archiveError(source, `config ${entry.Config} is ${configInfo.size} bytes, more than a config may be`);
    const configBytes = await parts.content.readBytes(configInfo.digest);
    let config;
    try {
      config = parseConfig(configBytes, { image: source, digest: configInfo.digest });
    } catch (e) {
      throw archiveError(source, `config ${entry.Config}: ${(e as Error).message}`, e);
    }
    const layerNames = entry.Layers as string[];
    if (layerNames.length !== config.rootfs.diff_ids.length) throw archiveError(source, `manifest.json lists ${layerNames.length} layers, its config ${config.rootfs.diff_ids.length}`);
    const layers: Descriptor[] = [];
    for (const [i, l] of layerNames.entries()) {
      const info = fileOf(archive, l, source, 'layer');
      const mediaType = await layerType(parts, info.digest);
      if (mediaType === MediaTypes.ociLayer && info.digest !== config.rootfs.diff_ids[i]) {
        throw archiveError(source, `layer ${l} has digest ${info.digest}, but its config says diff_id ${config.rootfs.diff_ids[i]}`);
      }
      layers.push({ mediaType, digest: info.digest, size: info.size });
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: configInfo.digest, size: configInfo.size }, layers };
    const stored = await parts.content.putBytes(JSON.stringify(manifest));
    loaded.push({ id: configInfo.digest, digest: stored.digest, names: repoTags(entry, source) });
  }
  return loaded;
}

/** A layer's media type from its first bytes: gzip, zstd, or a plain tar. */
async function layerType(parts: EngineParts, digest: string): Promise<string> {
  const fh = await open(parts.content.path(digest), 'r');
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
