// unpackImage: an image's layers (blobs already in the content store) become a snapshot chain;
// unpackLayers does the same for any list of layer records (a cache entry whose snapshot is gone).
// Each layer's snapshot id is its chainID's hex, so the same layer stack is unpacked once and
// shared by every image and build built on it. The original blob is recorded so export reuses it.
// Every digest the image gives is checked to be `sha256:<64 hex>` before anything uses it: the
// config's diff_ids become snapshot ids, and so directory names.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { parseDigest, readHead } from '../../src/content/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../../src/errors/index.ts';
import { checkImageLimits, parseConfig, parseManifest } from '../../src/image/index.ts';
import type { ImageSource } from '../../src/llb/index.ts';
import type { Descriptor } from '../../src/image/index.ts';
import type { LayerRecord, RunContext } from '../types.ts';
import { compressionOf } from './layer-blob.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { extractLayer } from './extract.ts';

/** ChainIDs of diffIds already checked to be `sha256:<64 hex>` (see checkedDigest). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : `sha256:${createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex')}`);
  return out;
}

export async function unpackImage(env: WorkerEnv, op: ImageSource, ctx: RunContext): Promise<string | undefined> {
  const manifest = parseManifest(await env.content.readBytes(op.digest), { image: op.ref, digest: op.digest });
  const config = parseConfig(await env.content.readBytes(manifest.config.digest), { image: op.ref, digest: manifest.config.digest });
  const rawDiffIds = config.rootfs.diff_ids;
  const layers = manifest.layers;
  // an image from a layout or the store, said before any layer is unpacked (a registry's is refused
  // before it is fetched: src/registry/resolve-config.ts)
  checkImageLimits(manifest, `image ${op.ref}`);
  if (rawDiffIds.length !== layers.length) {
    throw new TsbuildError(`image ${op.ref}: manifest has ${layers.length} layers, config lists ${rawDiffIds.length} diff_ids`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
  }
  const diffIds = rawDiffIds.map((d, i) => checkedDigest(`image ${op.ref}`, `config diff_id ${i}`, d));
  manifest.layers.forEach((l, i) => checkedDigest(`image ${op.ref}`, `layer ${i} digest`, l?.digest));
  // an image is just a list of layers: unpacked as any other (a cache entry's, say)
  const records = layers.map((l, i) => ({ diffId: diffIds[i], empty: false, blobs: [l] }));
  return unpackLayers(env, records, ctx, { what: `image ${op.ref}`, says: 'config says', damagedHint: 'the image was published damaged (the blob matches its digest): rebuild and push it again' });
}

/** How errors name what is unpacked. */
export interface UnpackSource {
  /** `image docker.io/library/busybox:latest`, `cache entry sha256:…` */
  what: string;
  /** Who named the diffId, for a mismatch: `config says`. */
  says: string;
  damagedHint: string;
}

/**
 * Unpacks layers (bottom first) into a snapshot chain and returns its top. Each layer's snapshot id is
 * its chainID's hex, so the same layer stack is unpacked once and shared by every image, cache entry
 * and build on it; the blob it came from is recorded for its compression so export reuses it. Every
 * diffId must already be `sha256:<64 hex>` (it names a directory): callers check what they read.
 */
export async function unpackLayers(env: WorkerEnv, layers: readonly LayerRecord[], ctx: RunContext, source: UnpackSource = { what: 'cache entry', says: 'the cache entry says', damagedHint: 'remove the blob from content/blobs: the step then runs again' }): Promise<string | undefined> {
  const chain = chainIds(layers.map((l) => checkedDigest(source.what, 'diffId', l.diffId)));
  let parent: string | undefined;
  for (const [i, layer] of layers.entries()) {
    if (ctx.signal.aborted) throw new TsbuildError('unpacking was cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
    const id = chain[i].slice('sha256:'.length);
    if (!env.snapshots.exists(id)) {
      const blob = await firstStored(env, layer.blobs);
      if (!blob) throw new TsbuildError(`${source.what}: no blob of layer ${layer.diffId} is in the content store (${layer.blobs.map((b) => b.digest).join(', ') || 'none recorded'})`, { code: ErrorCodes.BLOB_NOT_FOUND, kind: 'not-found' });
      checkedDigest(source.what, `layer ${i} digest`, blob.digest);
      ctx.progress.emit({ type: 'vertex.progress', vertex: ctx.vertex, id: `unpack ${blob.digest}`, current: i, total: layers.length, label: 'unpacking' });
      // mkdtemp: two unpacks of one layer in the same millisecond must not share a temp dir
      const dir = await mkdtemp(join(env.paths.tmp, `unpack-${id}-`));
      try {
        await mkdir(join(dir, 'fs'));
        const diffId = await unpackLayer(env, source, blob.digest, join(dir, 'fs'));
        if (diffId !== layer.diffId) throw new TsbuildError(`${source.what}: layer ${blob.digest}: uncompressed digest ${diffId}, ${source.says} ${layer.diffId}`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
        // the diff dir is the stored form of every snapshotter, so a layer is moved into place as is
        await env.snapshots.importDiff(id, parent, dir);
        env.snapshotStore.meta.setBlob(id, parent, compressionOf(blob.mediaType), { diffId: layer.diffId, digest: blob.digest, size: blob.size, mediaType: blob.mediaType, empty: layer.empty }, { replace: true });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    parent = id;
  }
  return parent;
}

async function firstStored(env: WorkerEnv, blobs: readonly Descriptor[]): Promise<Descriptor | undefined> {
  for (const b of blobs) if (await env.content.has(b.digest)) return b;
  return undefined;
}

/** The digest, when it is `sha256:<64 hex>`; otherwise a DIGEST_MISMATCH error naming the source (`image REF`) and the field. */
function checkedDigest(source: string, what: string, digest: unknown): string {
  try {
    if (typeof digest !== 'string') throw new Error('not a string');
    return `sha256:${parseDigest(digest)}`;
  } catch (e) {
    throw new TsbuildError(`${source}: ${what} ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid', cause: e });
  }
}

/**
 * Extracts one layer blob (gzip, zstd or plain, by its magic bytes, as containerd sniffs) into
 * `fsDir` and resolves its diffId. Every stream is joined by pipeline, so a damaged blob (gzip
 * magic and junk, a gzip cut short, zstd magic and junk, a tar that does not parse) rejects with
 * IMAGE_INVALID naming the image, the layer and the decoder's reason, after both the decoding and
 * the extraction have stopped (nothing writes into the dir the caller then removes).
 */
async function unpackLayer(env: WorkerEnv, source: UnpackSource, digest: string, fsDir: string): Promise<string> {
  const magic = await readHead(await env.content.open(digest), 4);
  const format = magic[0] === 0x1f && magic[1] === 0x8b ? 'gzip' : magic.length === 4 && magic.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : 'tar';
  const decoder = format === 'gzip' ? createGunzip() : format === 'zstd' ? createZstdDecompress() : new PassThrough();
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(c: Buffer, _e, cb) {
      hash.update(c);
      cb(null, c);
    },
  });
  const tar = new PassThrough();
  const [fed, extracted] = await Promise.allSettled([pipeline(await env.content.open(digest), decoder, tap, tar), extractLayer(tar, fsDir)]);
  if (extracted.status === 'rejected' && isTsbuildError(extracted.reason)) throw extracted.reason;
  const reasons = [fed, extracted].flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (reasons.length > 0) {
    // a failure anywhere ends the whole chain, so each side may report the other's error: name the first cause
    const decoding = reasons.find(isDecoderError);
    const cause = decoding ?? (extracted.status === 'rejected' ? (extracted.reason as Error) : reasons[0]);
    const what = decoding ? `its ${format} stream does not decompress` : extracted.status === 'rejected' ? 'its tar stream does not read' : 'it cannot be read';
    throw new TsbuildError(`${source.what}: layer ${digest} is damaged: ${what} (${cause.message})`, {
      code: ErrorCodes.IMAGE_INVALID,
      kind: 'invalid',
      cause,
      hint: source.damagedHint,
    });
  }
  return `sha256:${hash.digest('hex')}`;
}

/** zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR for a cut stream) and zstd's (ZSTD_error_…). */
function isDecoderError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ZSTD_'));
}
