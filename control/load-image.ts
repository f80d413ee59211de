// `tsbuild load`: images from an archive into the store, as `docker load` reads them (the formats
// and how a hostile archive is kept inside the store: image-archive.ts). Blobs are held by a lease
// until the names hold them; the names are checked before any is stored.
import type { Readable } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import type { Descriptor } from '../src/image/index.ts';
import { MediaTypes } from '../src/image/index.ts';
import { familiarName, parseReference } from '../src/registry/index.ts';
import type { EngineParts } from './engine.ts';
import { openArchiveFile, readImageArchive } from './image-archive.ts';

export interface LoadedImage {
  /** The image id (config digest). */
  id: string;
  /** The manifest digest stored. */
  digest: string;
  /** The names it was stored under (familiar form as given in the archive); empty: kept dangling. */
  names: string[];
}

const hint = 'tsbuild load reads what `docker save`, `tsbuild save` and `-o type=oci|docker` write';

/** Loads every image of the archive at `path` (`-` with `stdin`: read from there). */
export async function loadImages(parts: EngineParts, input: { path: string; stdin?: Readable; signal?: AbortSignal }): Promise<LoadedImage[]> {
  const source = input.path === '-' ? 'standard input' : input.path;
  const lease = parts.leases.create();
  try {
    const stream = await openInput(input, source);
    const read = await readImageArchive(parts.content, stream, { source, prefix: `cannot load ${source}`, hint, hold: (d) => lease.add('blob', d), signal: input.signal });
    // checked before any name is stored; shown as docker shows them (`busybox:latest`)
    const loaded = read.map((image): LoadedImage => ({ id: image.id, digest: image.digest, names: image.names.map((n) => familiarName(parseReference(n))) }));
    for (const image of loaded) lease.add('blob', image.digest);
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
    if (!input.stdin) throw new TsbuildError(`cannot load ${source}: there is no standard input to read`, { code: ErrorCodes.ARCHIVE_INVALID, kind: 'invalid', hint });
    return input.stdin;
  }
  try {
    return await openArchiveFile(input.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new TsbuildError(`cannot load ${input.path}: it is a directory; load takes a tar archive (docker save's, or an OCI layout's)`, { code: ErrorCodes.FILE_UNREADABLE, kind: 'invalid', hint: `for a layout directory: tar -C ${input.path} -cf layout.tar . && tsbuild load -i layout.tar`, cause: e });
    }
    throw new TsbuildError(`cannot read ${input.path}: ${(e as Error).message}`, { code: ErrorCodes.FILE_UNREADABLE, kind: 'not-found', hint: 'name the archive to load: tsbuild load -i app.tar', cause: e });
  }
}
