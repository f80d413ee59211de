// unpackImage: an image's layers (blobs already in the content store) become a snapshot chain.
// Each layer's snapshot id is its chainID's hex, so the same layer stack is unpacked once and
// shared by every image and build built on it. The original blob is recorded so export reuses it.
// Every digest the image gives is checked to be `sha256:<64 hex>` before anything uses it: the
// config's diff_ids become snapshot ids, and so directory names.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { parseDigest } from '../../src/content/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { ImageConfig, ImageManifest } from '../../src/image/index.ts';
import type { ImageSource } from '../../src/llb/index.ts';
import type { RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { extractLayer } from './extract.ts';

/** ChainIDs of diffIds already checked to be `sha256:<64 hex>` (see checkedDigest). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : `sha256:${createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex')}`);
  return out;
}

export async function unpackImage(env: WorkerEnv, op: ImageSource, ctx: RunContext): Promise<string | undefined> {
  const manifest = JSON.parse((await env.content.readBytes(op.digest)).toString('utf8')) as ImageManifest;
  const config = JSON.parse((await env.content.readBytes(manifest.config.digest)).toString('utf8')) as ImageConfig;
  const rawDiffIds: unknown = config.rootfs?.diff_ids ?? [];
  const layers: unknown = manifest.layers;
  if (!Array.isArray(rawDiffIds) || !Array.isArray(layers)) {
    throw new TsbuildError(`image ${op.ref}: the manifest's layers or the config's rootfs.diff_ids is not a list`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
  }
  if (rawDiffIds.length !== layers.length) {
    throw new TsbuildError(`image ${op.ref}: manifest has ${layers.length} layers, config lists ${rawDiffIds.length} diff_ids`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
  }
  const diffIds = rawDiffIds.map((d, i) => checkedDigest(op.ref, `config diff_id ${i}`, d));
  manifest.layers.forEach((l, i) => checkedDigest(op.ref, `layer ${i} digest`, l?.digest));
  const chain = chainIds(diffIds);
  let parent: string | undefined;
  for (const [i, layer] of manifest.layers.entries()) {
    if (ctx.signal.aborted) throw new TsbuildError('unpacking was cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
    const id = chain[i].slice('sha256:'.length);
    if (!env.snapshotStore.exists(id)) {
      ctx.progress.emit({ type: 'vertex.progress', vertex: ctx.vertex, id: `unpack ${layer.digest}`, current: i, total: manifest.layers.length, label: 'unpacking' });
      // mkdtemp: two unpacks of one layer in the same millisecond must not share a temp dir
      const dir = await mkdtemp(join(env.paths.tmp, `unpack-${id}-`));
      try {
        await mkdir(join(dir, 'fs'));
        const hash = createHash('sha256');
        await extractLayer(decompressed(await env.content.open(layer.digest), hash), join(dir, 'fs'));
        const diffId = `sha256:${hash.digest('hex')}`;
        if (diffId !== diffIds[i]) throw new TsbuildError(`layer ${layer.digest}: uncompressed digest ${diffId}, config says ${diffIds[i]}`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid' });
        // the diff dir is the stored form of every snapshotter, so a layer is moved into place as is
        await env.snapshotStore.importDir(id, parent, dir);
        env.snapshotStore.meta.setBlob(id, { diffId: diffIds[i], digest: layer.digest, size: layer.size, mediaType: layer.mediaType, empty: false }, { replace: true });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    parent = id;
  }
  return parent;
}

/** The digest, when it is `sha256:<64 hex>`; otherwise a DIGEST_MISMATCH error naming the image and the field. */
function checkedDigest(ref: string, what: string, digest: unknown): string {
  try {
    if (typeof digest !== 'string') throw new Error('not a string');
    return `sha256:${parseDigest(digest)}`;
  } catch (e) {
    throw new TsbuildError(`image ${ref}: ${what} ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`, { code: ErrorCodes.DIGEST_MISMATCH, kind: 'invalid', cause: e });
  }
}

/** The uncompressed tar of a blob (gzip, zstd or plain, by magic bytes), hashed into `hash` as it streams. */
function decompressed(blob: Readable, hash: ReturnType<typeof createHash>): Readable {
  let first = true;
  let out: Transform | undefined;
  const tap = new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); cb(null, c); } });
  const sniff = new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (first) {
        first = false;
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) out = createGunzip();
        else if (chunk.length >= 4 && chunk.readUInt32LE(0) === 0xfd2fb528) out = createZstdDecompress();
        if (out) {
          out.on('data', (d: Buffer) => this.push(d));
          out.on('error', (e) => this.destroy(e));
        }
      }
      if (out) out.write(chunk, cb);
      else cb(null, chunk);
    },
    flush(cb) {
      if (!out) return cb();
      out.on('end', () => cb());
      out.end();
    },
  });
  blob.on('error', (e) => sniff.destroy(e));
  return blob.pipe(sniff).pipe(tap);
}
