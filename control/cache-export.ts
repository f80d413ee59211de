// Exports a build's cache (--cache-to, docs/remote-cache.md): the results of its steps as one OCI
// manifest whose config is the cache graph and whose layers are the result blobs, to a registry
// ref or a local OCI layout. mode=min: the steps of the final image (the chain of first inputs from
// the target: its filesystem's history); mode=max: every step of every stage the build used. Time
// is linear in the steps: each result's layers come from the worker's per-snapshot layer blobs,
// made once and shared between results on one chain.
import { copyFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { topoSort, type Vertex } from '../src/llb/index.ts';
import { MediaTypes, type Descriptor, type LayerBlob } from '../src/image/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import type { RegistryClient } from '../src/registry/index.ts';
import type { Lease } from '../src/state/index.ts';
import type { CacheIndex, Decision } from '../solver/index.ts';
import { encodeListing } from '../src/context/index.ts';
import { CacheConfigMediaType, CreatedAnnotation, DiffIdAnnotation, ListingMediaType, cacheManifest, type CacheConfig, type CacheConfigRecord } from './cache-format.ts';
import type { CacheExportSpec } from './cache-spec.ts';
import { compressLayers } from './compress-layers.ts';
import type { EngineParts } from './engine.ts';
import { makeDirs } from '../src/fs/index.ts';

export interface CacheExportInput {
  root: Vertex;
  plan: ReadonlyMap<string, Decision>;
  cache: CacheIndex;
  lease: Lease;
}

export interface CacheExportOptions {
  progress: ProgressSink;
  signal?: AbortSignal;
  parallelism: number;
  registry: () => Promise<RegistryClient>;
  /** For `cache-mounts=true`: where the mounts live and the secret values none of their files may hold. */
  cacheMounts?: { stateRoot: string; secrets: readonly Buffer[] };
}

/** Writes the cache; resolves to how many records and blobs it holds. */
export async function exportCache(engine: Pick<EngineParts, 'worker' | 'content'>, input: CacheExportInput, spec: Exclude<CacheExportSpec, { type: 'inline' }>, opts: CacheExportOptions): Promise<{ records: number; blobs: number }> {
  const vertex = { digest: `cache-export ${spec.type === 'local' ? spec.dest : spec.ref}`, name: `exporting cache to ${spec.type === 'local' ? spec.dest : spec.ref} (mode=${spec.mode})` };
  opts.progress.emit({ type: 'vertex.started', vertex });
  const { worker, content } = engine;
  const inScope = spec.mode === 'max' ? topoSort([input.root]) : firstInputChain(input.root);
  const layers: Descriptor[] = [];
  const index = new Map<string, number>();
  const layersOf = new Map<string, LayerBlob[]>();
  const records: CacheConfigRecord[] = [];
  // when each snapshot was made: an importer stamps the same image times from it (control/created-times.ts)
  const madeAt = new Map(worker.storage.snapshots().map((s) => [s.name, s.created]));
  for (const v of inScope) {
    opts.signal?.throwIfAborted();
    const d = input.plan.get(v.digest);
    if (!d || (d.action !== 'run' && d.action !== 'cached')) continue;
    const entry = input.cache.lookup(d.key);
    if (!entry) continue;
    let chainLayers: { diffId: string; blob: Descriptor; created?: number }[];
    if (entry.snapshot !== undefined) {
      const ids = worker.chain(entry.snapshot);
      let infos = layersOf.get(entry.snapshot);
      if (!infos) {
        // gzip, as a push sends it; a layer pulled compressed keeps its blob (so its digest is the registry's)
        infos = await compressLayers(worker, ids, { progress: opts.progress, vertex, signal: opts.signal, parallelism: opts.parallelism, layer: { compression: 'gzip', reuse: 'compressed' } });
        layersOf.set(entry.snapshot, infos);
      }
      chainLayers = infos.map((l, i) => ({ diffId: l.diffId, blob: { mediaType: l.mediaType, digest: l.digest, size: l.size }, created: madeAt.get(ids[i]) }));
    } else if (entry.layers?.length) {
      // a result kept only as blobs: exportable when they are here (an imported one not yet fetched is not)
      const here: Descriptor[] = [];
      for (const l of entry.layers) {
        const b = l.blobs.find((x) => x.mediaType !== MediaTypes.ociLayer) ?? l.blobs[0];
        if (!b || !(await content.has(b.digest))) break;
        here.push(b);
      }
      if (here.length !== entry.layers.length) continue;
      chainLayers = entry.layers.map((l, i) => ({ diffId: l.diffId, blob: here[i] }));
    } else chainLayers = [];
    const at = chainLayers.map((l) => {
      let i = index.get(l.blob.digest);
      if (i === undefined) {
        i = layers.length;
        index.set(l.blob.digest, i);
        layers.push({ ...l.blob, annotations: { [DiffIdAnnotation]: l.diffId, ...(l.created !== undefined && { [CreatedAnnotation]: String(l.created) }) } });
        input.lease.add('blob', l.blob.digest);
      }
      return i;
    });
    const created = input.cache.created?.(d.key);
    const p = entry.parts;
    records.push({
      key: d.key,
      layers: at,
      created: new Date(created ?? Date.now()).toISOString(),
      ...(p && { parts: { op: p.op, inputs: [...p.inputs], content: [...p.content], ...(p.step && { step: p.step }) } }),
      description: v.meta.name,
    });
  }
  const config: CacheConfig = { version: 1, records };
  // the listings of the records' context reads: a runner whose read differs is told which file
  const listings = await exportListings(records, input.cache, content, maxListingBytes);
  if (listings.length > 0) {
    config.listings = listings.map((l) => {
      input.lease.add('blob', l.blob.digest);
      layers.push(l.blob);
      return { checksum: l.checksum, layer: layers.length - 1 };
    });
  }
  if (spec.cacheMounts && opts.cacheMounts) {
    const { cacheMountIds, packCacheMounts, defaultMaxCacheMountBytes } = await import('./cache-mounts-transfer.ts');
    const packed = await packCacheMounts(cacheMountIds(input.root), { stateRoot: opts.cacheMounts.stateRoot, content, secrets: opts.cacheMounts.secrets, maxBytes: defaultMaxCacheMountBytes, warn: (m) => opts.progress.emit({ type: 'build.warning', message: m }) });
    config.cacheMounts = packed.map((m) => {
      input.lease.add('blob', m.blob.digest);
      layers.push({ ...m.blob, annotations: { [DiffIdAnnotation]: m.diffId } });
      return { id: m.id, layer: layers.length - 1 };
    });
  }
  const configInfo = await content.putBytes(JSON.stringify(config));
  input.lease.add('blob', configInfo.digest);
  const manifest = cacheManifest({ mediaType: CacheConfigMediaType, digest: configInfo.digest, size: configInfo.size }, layers);
  const manifestInfo = await content.putBytes(JSON.stringify(manifest));
  input.lease.add('blob', manifestInfo.digest);
  const manifestDesc: Descriptor = { mediaType: MediaTypes.ociManifest, digest: manifestInfo.digest, size: manifestInfo.size };
  if (spec.type === 'local') await writeLayout(spec.dest, content, [configInfo.digest, manifestInfo.digest, ...layers.map((l) => l.digest)], manifestDesc);
  else {
    const { pushImage } = await import('../src/registry/index.ts');
    await pushImage({ client: await opts.registry(), content, ref: spec.ref, descriptor: manifestDesc, signal: opts.signal, progress: opts.progress, vertex });
  }
  opts.progress.emit({ type: 'vertex.done', vertex });
  return { records: records.length, blobs: layers.length };
}

/**
 * --cache-to type=inline: the records of the final image's steps whose results are a prefix of
 * its own layer chain (`finalChain`), their layers given as indices into the image's layers. The
 * image config carries them (InlineCacheField); `--cache-from type=registry,ref=IMAGE` reads them.
 */
export function inlineCacheConfig(worker: Pick<EngineParts, 'worker'>['worker'], input: Omit<CacheExportInput, 'lease'>, finalChain: readonly string[]): CacheConfig {
  const records: CacheConfigRecord[] = [];
  for (const v of firstInputChain(input.root)) {
    const d = input.plan.get(v.digest);
    if (!d || (d.action !== 'run' && d.action !== 'cached')) continue;
    const entry = input.cache.lookup(d.key);
    if (!entry || (entry.snapshot === undefined && entry.layers?.length)) continue;
    const chain = entry.snapshot === undefined ? [] : worker.chain(entry.snapshot);
    if (chain.some((id, i) => finalChain[i] !== id)) continue;
    const p = entry.parts;
    records.push({
      key: d.key,
      layers: chain.map((_, i) => i),
      created: new Date(input.cache.created?.(d.key) ?? Date.now()).toISOString(),
      ...(p && { parts: { op: p.op, inputs: [...p.inputs], content: [...p.content], ...(p.step && { step: p.step }) } }),
      description: v.meta.name,
    });
  }
  return { version: 1, records };
}

// Listings are for explanations only: bounded so a cache of huge contexts stays small (each is at
// most 8 MiB deflated, solver/cache-index.ts; most are some KiB)
const maxListingBytes = 32 * 1024 * 1024;

/** One blob per distinct content checksum of `records` whose listing the local index kept, up to `maxBytes` in all. */
async function exportListings(records: readonly CacheConfigRecord[], cache: CacheIndex, content: Pick<EngineParts, 'content'>['content'], maxBytes: number): Promise<{ checksum: string; blob: Descriptor }[]> {
  const out: { checksum: string; blob: Descriptor }[] = [];
  let total = 0;
  for (const checksum of new Set(records.flatMap((r) => r.parts?.content ?? []))) {
    const listing = cache.listing?.(checksum);
    if (!listing) continue;
    const bytes = encodeListing(listing);
    if (total + bytes.length > maxBytes) break;
    total += bytes.length;
    const stored = await content.putBytes(bytes);
    out.push({ checksum, blob: { mediaType: ListingMediaType, digest: stored.digest, size: stored.size } });
  }
  return out;
}

/** The target and the steps its filesystem was made on: each op's first input, down to its base. */
function firstInputChain(root: Vertex): Vertex[] {
  const out: Vertex[] = [];
  for (let v: Vertex | undefined = root; v; v = v.inputs[0]) out.push(v);
  return out.reverse();
}

/** An OCI layout at `dir` holding `blobs` (copied from the content store once) and an index of the one manifest. */
async function writeLayout(dir: string, content: Pick<EngineParts, 'content'>['content'], blobs: string[], manifest: Descriptor): Promise<void> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  await makeDirs(blobsDir);
  for (const digest of new Set(blobs)) {
    const to = join(blobsDir, digest.slice('sha256:'.length));
    if (existsSync(to)) continue;
    const tmp = `${to}.tmp-${process.pid}`;
    await copyFile(content.path(digest), tmp);
    await rename(tmp, to);
  }
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const index = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'cache' } }] };
  // the index last, renamed into place: a reader sees the old cache or the whole new one
  await writeFile(join(dir, `index.json.tmp-${process.pid}`), JSON.stringify(index));
  await rename(join(dir, `index.json.tmp-${process.pid}`), join(dir, 'index.json'));
}
