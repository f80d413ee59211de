// `--cache-to ...,cache-mounts=true`: the contents of the build's `RUN --mount=type=cache`
// directories travel with the remote cache (docs/remote-cache.md), so package-manager caches
// survive between CI runners. One gzip tar per mount id, at most `maxBytes` each (a larger one is
// left out with a warning), and never a file holding one of the build's secret values: a RUN that
// copied a secret into its cache mount must not publish it. Imported mounts fill only ids this
// root does not have yet.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, createGunzip } from 'node:zlib';
import { pack } from 'tar-stream';
import type { ContentStore } from '../src/content/index.ts';
import { MediaTypes, type Descriptor } from '../src/image/index.ts';
import { topoSort, type Vertex } from '../src/llb/index.ts';
import { cacheMountDir, extractLayer } from '../worker/index.ts';

/** Default bound on one exported cache mount. */
export const defaultMaxCacheMountBytes = 1024 ** 3;

export interface PackedMount {
  id: string;
  blob: Descriptor;
  diffId: string;
}

/** The ids of the cache mounts the build's RUN steps use. */
export function cacheMountIds(root: Vertex): string[] {
  const ids = new Set<string>();
  for (const v of topoSort([root])) {
    if (v.op.kind !== 'exec') continue;
    for (const m of v.op.mounts) if (m.type === 'cache') ids.add(m.id);
  }
  return [...ids];
}

interface Entry {
  rel: string;
  abs: string;
  st: import("node:fs").Stats;
}

function walk(dir: string): Entry[] {
  const out: Entry[] = [];
  const visit = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(dir, r);
      const st = lstatSync(abs);
      out.push({ rel: r, abs, st });
      if (st.isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

export async function packCacheMounts(ids: readonly string[], opts: { stateRoot: string; content: ContentStore; secrets: readonly Buffer[]; maxBytes: number; warn(m: string): void }): Promise<PackedMount[]> {
  const out: PackedMount[] = [];
  for (const id of ids) {
    const dir = cacheMountDir(opts.stateRoot, id);
    if (!existsSync(dir)) continue;
    const entries = walk(dir);
    const total = entries.reduce((n, e) => n + (e.st.isFile() ? Number(e.st.size) : 0), 0);
    if (total > opts.maxBytes) {
      opts.warn(`cache mount "${id}": ${total} bytes, more than the ${opts.maxBytes} a cache export carries: left out`);
      continue;
    }
    const tar = pack();
    const hash = createHash('sha256');
    const writing = (async () => {
      for (const e of entries) {
        const header = { name: e.rel, mode: Number(e.st.mode) & 0o7777, uid: Number(e.st.uid), gid: Number(e.st.gid), mtime: e.st.mtime };
        if (e.st.isDirectory()) tar.entry({ ...header, type: 'directory' });
        else if (e.st.isSymbolicLink()) tar.entry({ ...header, type: 'symlink', linkname: readlinkSync(e.abs) });
        else if (e.st.isFile()) {
          // scanned first, then streamed: a large file is never held whole in memory
          if (await holdsSecret(e.abs, opts.secrets)) {
            opts.warn(`cache mount "${id}": ${e.rel} holds a secret's value: left out of the cache export`);
            continue;
          }
          const size = Number(e.st.size);
          if (size === 0) await new Promise<void>((ok, fail) => tar.entry({ ...header, size: 0 }, Buffer.alloc(0), (err) => (err ? fail(err) : ok())));
          else await pipeline(createReadStream(e.abs, { end: size - 1 }), tar.entry({ ...header, size }));
        }
      }
      tar.finalize();
    })();
    const gz = createGzip();
    const hashing = (async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        hash.update(c);
        yield c;
      }
    })(tar as unknown as AsyncIterable<Buffer>);
    const [info] = await Promise.all([opts.content.putStream(Readable.from(hashing).pipe(gz)), writing]);
    out.push({ id, blob: { mediaType: MediaTypes.ociLayerGzip, digest: info.digest, size: info.size }, diffId: `sha256:${hash.digest('hex')}` });
  }
  return out;
}

/** Whether the file at `path` contains any of `secrets`, read in chunks (a match across two chunks counts). */
async function holdsSecret(path: string, secrets: readonly Buffer[]): Promise<boolean> {
  const wanted = secrets.filter((s) => s.length > 0);
  if (wanted.length === 0) return false;
  const keep = Math.max(...wanted.map((s) => s.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of createReadStream(path)) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    if (wanted.some((s) => window.includes(s))) return true;
    tail = window.subarray(Math.max(0, window.length - keep));
  }
  return false;
}

/** Fills the cache mount `id` from a fetched blob, when this root has no such mount yet. */
export async function restoreCacheMount(stateRoot: string, id: string, blob: Descriptor, content: ContentStore): Promise<boolean> {
  const dir = cacheMountDir(stateRoot, id);
  if (existsSync(dir)) return false;
  const tmp = `${dir}.import-${process.pid}`;
  await mkdir(tmp, { recursive: true });
  try {
    const gunzip = createGunzip();
    const feeding = pipeline(await content.open(blob.digest, { size: blob.size }), gunzip);
    await Promise.all([extractLayer(gunzip, tmp, { whiteouts: false }), feeding]);
    await rename(tmp, dir);
    return true;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}


