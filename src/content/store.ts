// The blob store: an OCI image layout directory (blobs/sha256/<hex>), so the store is itself
// readable by skopeo and umoci. Blobs are written to a temp file, verified against their digest,
// then renamed into place: a blob at its digest path is always whole and correct.
//
// Roles, smallest first: read with a BlobReader, write with a BlobWriter.
//
//   const store = openContentStore('/var/lib/tsbuild/content');
//   const desc = await store.putBytes(Buffer.from('{}'));        // → { digest, size }
//   const bytes = await store.readBytes(desc.digest);
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { rename, rm, stat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, pipeline as pipe } from 'node:stream';
import { ErrorCodes, TsbuildError, notFound } from '../errors/index.ts';
import { createBlobFile } from './blob-file.ts';
import { createDirectReadStream, directReadMin } from './direct-read.ts';
import { createVerifyStream } from './verify-blob.ts';
import { processIdentity } from '../state/process-identity.ts';

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface BlobReader {
  has(digest: string): Promise<boolean>;
  /** Undefined when absent. */
  info(digest: string): Promise<BlobInfo | undefined>;
  /**
   * A stream of the blob; throws BLOB_NOT_FOUND when absent. The caller consumes or destroys it.
   * The bytes are checked against the digest (and `expected.size`) as they flow: a damaged blob
   * makes the stream fail with DIGEST_MISMATCH before its last chunk (verify-blob.ts). A blob this
   * store wrote in this process and whose file is unchanged since (inode, size, mtime, ctime) is not
   * hashed again: it was hashed as it was written.
   */
  open(digest: string, expected?: { size?: number }): Promise<Readable>;
  readBytes(digest: string): Promise<Buffer>;
  /** Where the blob lives on disk (it may not exist). */
  path(digest: string): string;
}

export interface BlobWriter {
  /**
   * Stores what `source` yields, each chunk hashed, then written (a copy) while the next is made (so a
   * source may reuse a chunk's memory once asked again). Resolves once the blob is stored at its digest, whoever stored it
   * (idempotent). With `expected`, fails with DIGEST_MISMATCH and stores nothing when the bytes differ.
   * A Readable `source` not read because the blob is there already is destroyed; another iterable is
   * left as it is (its maker closes what it wraps).
   */
  putStream(source: Readable | AsyncIterable<Uint8Array>, expected?: Partial<BlobInfo>, opts?: PutOptions): Promise<BlobInfo>;
  putBytes(data: Uint8Array | string, expected?: Partial<BlobInfo>, opts?: PutOptions): Promise<BlobInfo>;
}

export interface PutOptions {
  /**
   * false: the file is not fsynced before its rename, for a blob made again from others at will (a
   * push's manifest of gzip layers). A power cut may leave it damaged; putBytes then finds the copy
   * differs and writes it again, and open() of a blob from another process checks its digest.
   */
  durable?: boolean;
}

export interface BlobManager {
  walk(): AsyncIterable<BlobInfo>;
  delete(digest: string): Promise<void>;
}

export type ContentStore = BlobReader & BlobWriter & BlobManager & { readonly dir: string };

/** Blobs are read in 1 MiB pieces, not the 64 KiB default: a layer of hundreds of MB then costs 16x fewer trips through each stage of an export or push. */
const readChunk = 1 << 20;

/** How many blobs written by this process open() remembers (an engine serving builds for days writes many). */
const maxRemembered = 4096;

const digestPattern = /^sha256:([a-f0-9]{64})$/;

export function parseDigest(digest: string): string {
  const m = digestPattern.exec(digest);
  if (!m) throw new TsbuildError(`invalid digest "${digest}": expected sha256:<64 hex>`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
  return m[1];
}

/** Opens (creating when missing) the OCI layout at `dir`. */
export function openContentStore(dir: string): ContentStore {
  const blobsDir = join(dir, 'blobs', 'sha256');
  const tmpDir = join(dir, 'ingest');
  mkdirSync(blobsDir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  if (!existsSync(join(dir, 'oci-layout'))) writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  if (!existsSync(join(dir, 'index.json'))) writeFileSync(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');

  const path = (digest: string) => join(blobsDir, parseDigest(digest));

  const info = async (digest: string): Promise<BlobInfo | undefined> => {
    try {
      const s = await stat(path(digest));
      return { digest, size: s.size };
    } catch {
      return undefined;
    }
  };

  // Blobs this store stored in this process, as their files were when renamed into place. One read
  // back unchanged (same inode, size, mtime and ctime: an edit or a replacement changes one) was
  // hashed as it was written moments ago, so open() passes it on unhashed: an export copies the
  // layer it just compressed without a third sha256 pass. A blob from before this process is
  // checked as it flows, as always.
  const written = new Map<string, string>();
  const identity = (s: BigIntStats) => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  const remember = (digest: string, s: BigIntStats) => {
    if (written.size >= maxRemembered) written.delete(written.keys().next().value!);
    written.set(digest, identity(s));
  };

  const putStream: BlobWriter['putStream'] = async (source, expected = {}, opts = {}) => {
    if (expected.digest && (await info(expected.digest))) {
      // not read: a stream is closed, so nothing it holds (a connection) outlives the call
      if (source instanceof Readable) source.destroy();
      return (await info(expected.digest))!;
    }
    // named by its owner, so start-up recovery removes what a killed process left (worker/recover.ts)
    const tmp = join(tmpDir, `${processIdentity()}-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const file = await createBlobFile(tmp);
      try {
        // each chunk is written while the source makes the next (a layer's tar is made on this
        // thread); the file takes a copy, as a source may reuse a chunk's memory once asked again
        // (the layer tar does: worker/layer/layer-tar.ts)
        for await (const chunk of source) {
          hash.update(chunk);
          await file.write(chunk);
          size += chunk.length;
        }
        await file.finish(opts.durable !== false);
      } finally {
        // waits for a write still under way (a source that threw)
        await file.close();
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected.digest && expected.digest !== digest) {
        throw new TsbuildError(`blob ${expected.digest}: content has digest ${digest}`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
      }
      if (expected.size !== undefined && expected.size !== size) {
        throw new TsbuildError(`blob ${digest}: ${size} bytes read, ${expected.size} expected`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
      }
      await rename(tmp, path(digest));
      // rename keeps the inode and changes the ctime: read the identity the blob now has
      remember(digest, await stat(path(digest), { bigint: true }));
      return { digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  };

  return {
    dir,
    path,
    info,
    has: async (digest) => (await info(digest)) !== undefined,
    async open(digest, expected = {}) {
      const st = await stat(path(digest), { bigint: true }).catch(() => undefined);
      if (!st) throw notFound(ErrorCodes.BLOB_NOT_FOUND, `blob ${digest} is not in the content store`);
      // a big blob past the page cache, as most of it was written (direct-read.ts)
      const source = () => (st.size >= directReadMin && createDirectReadStream(path(digest), Number(st.size))) || createReadStream(path(digest), { highWaterMark: readChunk });
      if (written.get(digest) === identity(st) && (expected.size === undefined || BigInt(expected.size) === st.size)) return source();
      // pipe (not .pipe()): an error on either side destroys both, and destroying the result closes the file
      return pipe(source(), createVerifyStream({ digest, size: expected.size, path: path(digest) }), () => {});
    },
    async readBytes(digest) {
      try {
        return await readFile(path(digest));
      } catch {
        throw notFound(ErrorCodes.BLOB_NOT_FOUND, `blob ${digest} is not in the content store`);
      }
    },
    putStream,
    async putBytes(data, expected = {}, opts = {}) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      if (!expected.digest) {
        // the bytes are in hand: when the same blob is stored already (a rebuild's unchanged config
        // and manifest) reading it back is cheaper than writing and fsyncing it again, and a
        // damaged copy is still replaced
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        const size = await stat(path(digest)).then((st) => st.size, () => undefined);
        const stored = size === bytes.length ? await readFile(path(digest)).catch(() => undefined) : undefined;
        if (stored && Buffer.compare(stored, bytes) === 0) return { digest, size: bytes.length };
      }
      return putStream(Readable.from([bytes]), expected, opts);
    },
    async *walk() {
      for (const name of await readdir(blobsDir)) {
        const s = await stat(join(blobsDir, name));
        yield { digest: `sha256:${name}`, size: s.size };
      }
    },
    async delete(digest) {
      await rm(path(digest), { force: true });
    },
  };
}
