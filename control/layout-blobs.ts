// The blobs of an OCI image layout directory someone else wrote (`tsbuild diff DIR`, `--cache-from
// type=local`, `--build-context x=oci-layout://DIR`), as a read-only BlobReader. The layout is
// untrusted: a digest is checked before it becomes a path, and a blob is read only when it is a
// regular file (a FIFO would hang the read, a symlink could point anywhere). Bytes are not checked
// against their digests here: readImage checks documents, and a layer is checked where it is stored
// (the content store's putStream) or unpacked.
import { createReadStream, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { parseDigest, type BlobInfo, type BlobReader } from '../src/content/index.ts';
import { openRegularFile, readRegularFile } from '../src/context/index.ts';
import { ErrorCodes, notFound } from '../src/errors/index.ts';

// readBytes is for documents (manifests, indexes, configs, a cache's record list): a bound on what a
// hostile layout can make us hold in memory, far above any real one
const maxReadBytes = 64 * 1024 * 1024;

/** The layout at `dir`; messages name it `where` (the path, or how the user gave it). */
export function openLayoutBlobs(dir: string, where: string = dir): BlobReader {
  const path = (digest: string) => join(dir, 'blobs', 'sha256', parseDigest(digest));
  const what = (digest: string) => `blob ${digest} of ${where}`;
  const missing = (digest: string) => notFound(ErrorCodes.BLOB_NOT_FOUND, `blob ${digest} is not in ${where}`);
  const info = async (digest: string): Promise<BlobInfo | undefined> => {
    try {
      const s = lstatSync(path(digest));
      return s.isFile() ? { digest, size: s.size } : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    path,
    info,
    has: async (digest) => (await info(digest)) !== undefined,
    readBytes: async (digest) => {
      const bytes = readRegularFile(path(digest), { what: what(digest), maxBytes: maxReadBytes });
      if (!bytes) throw missing(digest);
      return bytes;
    },
    open: async (digest) => {
      const opened = openRegularFile(path(digest), what(digest));
      if (!opened) throw missing(digest);
      return createReadStream('', { fd: opened.fd });
    },
  };
}
