// Opens the caches a build imports (--cache-from): a registry ref or a local OCI layout. Only the
// manifest and the cache config are read now; a record whose blobs its source does not have is
// dropped (that step then runs), and the blobs themselves are fetched later, when a step needs
// them (solver/imported-cache.ts). A missing, corrupt or foreign cache is a warning: the build
// goes on without it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import { MediaTypes, parseManifestOrIndex, type Descriptor, type ImageIndex, type ImageManifest } from '../src/image/index.ts';
import type { Platform } from '../src/llb/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import type { RegistryClient } from '../src/registry/index.ts';
import type { ImportedCache, ImportedRecord } from '../solver/index.ts';
import { openLayoutBlobs } from './layout-blobs.ts';
import { CacheConfigMediaType, inlineLayerTimes, readCacheListings, readCacheMounts, readCacheRecords, readInlineRecords, readLayerTimes } from './cache-format.ts';

const ImageConfigTypes: readonly string[] = [MediaTypes.ociConfig, MediaTypes.dockerConfig];
import type { CacheImportSpec } from './cache-spec.ts';

export interface CacheImportDeps {
  content: ContentStore;
  /** Made on first use: only a registry import needs the HTTP client. */
  registry: () => Promise<RegistryClient>;
  warn(message: string): void;
  progress: ProgressSink;
  /** The build's platform: which image of an index holds an inline cache. */
  platform: Platform;
  signal?: AbortSignal;
}

export async function openCacheImports(specs: readonly CacheImportSpec[], deps: CacheImportDeps): Promise<ImportedCache[]> {
  const out: ImportedCache[] = [];
  for (const spec of specs) {
    const name = spec.type === 'local' ? `local:${spec.src}` : spec.ref;
    const vertex = { digest: `cache-import ${name}`, name: `importing cache manifest from ${name}` };
    deps.progress.emit({ type: 'vertex.started', vertex });
    try {
      const opened = spec.type === 'local' ? openLocal(spec.src, name, deps) : await openRegistry(spec.ref, name, deps);
      deps.progress.emit({ type: 'vertex.log', vertex, stream: 'stdout', data: `${opened.records.size} cache records\n` });
      out.push(opened);
    } catch (e) {
      deps.signal?.throwIfAborted();
      deps.warn(`--cache-from ${name}: not used: ${e instanceof Error ? e.message : String(e)}`);
    }
    deps.progress.emit({ type: 'vertex.done', vertex });
  }
  return out;
}

function byKey(records: ImportedRecord[]): Map<string, ImportedRecord> {
  return new Map(records.map((r) => [r.key, r]));
}

function openLocal(dir: string, name: string, deps: CacheImportDeps): ImportedCache {
  const layout = openLayoutBlobs(dir, name);
  const blob = layout.path;
  const readJson = <T>(path: string, what: string): T => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch (e) {
      throw new Error(`${what} cannot be read: ${(e as Error).message}`);
    }
  };
  if (!existsSync(join(dir, 'index.json'))) throw new Error(`${dir} holds no cache (no index.json)`);
  const index = readJson<ImageIndex>(join(dir, 'index.json'), 'index.json');
  let manifest: ImageManifest | undefined;
  for (const d of index.manifests ?? []) {
    if (!/^sha256:[a-f0-9]{64}$/.test(d.digest) || !existsSync(blob(d.digest))) continue;
    const m = readJson<ImageManifest>(blob(d.digest), `manifest ${d.digest}`);
    if (m.config?.mediaType === CacheConfigMediaType) manifest = m;
  }
  if (!manifest) throw new Error(`${dir} holds no tsbuild cache manifest`);
  const config = readFileSync(blob(manifest.config.digest));
  const present = (d: Descriptor) => existsSync(blob(d.digest)) && statSync(blob(d.digest)).size === d.size;
  const records = readCacheRecords(manifest, config, name).filter((r) => r.layers.every((l) => l.blobs.every(present)));
  const downloaded = { blobs: 0, bytes: 0 };
  return {
    name,
    records: byKey(records),
    mounts: readCacheMounts(manifest, config).filter((m) => present(m.blob)),
    listings: new Map([...readCacheListings(manifest, config)].filter(([, d]) => present(d))),
    layerTimes: readLayerTimes(manifest),
    downloaded,
    fetch: async (d) => {
      await deps.content.putStream(await layout.open(d.digest), { digest: d.digest, size: d.size }).catch((e: unknown) => {
        throw damagedBlob(name, e);
      });
      downloaded.blobs++;
      downloaded.bytes += d.size;
    },
  };
}

async function openRegistry(refText: string, name: string, deps: CacheImportDeps): Promise<ImportedCache> {
  const { createStallGuard, parseReference, resolveStallTimeoutMs } = await import('../src/registry/index.ts');
  const client = await deps.registry();
  const ref = parseReference(refText);
  const fetched = await client.getManifest(ref);
  // checked as any manifest: a config over MaxConfigBytes is refused before it is fetched
  let manifest = parseManifestOrIndex(fetched.bytes, { image: refText, digest: fetched.digest });
  // an image index (a pushed image): the build platform's image, whose config may hold an inline cache
  if ('manifests' in manifest) {
    const { fetchPlatformManifest } = await import('../src/registry/index.ts');
    manifest = (await fetchPlatformManifest(client, deps.content, ref, deps.platform)).manifest;
  }
  await client.fetchBlob(ref, manifest.config, deps.content);
  const config = await deps.content.readBytes(manifest.config.digest);
  const all = manifest.config.mediaType === CacheConfigMediaType
    ? readCacheRecords(manifest, config, name)
    : ImageConfigTypes.includes(manifest.config.mediaType)
      ? readInlineRecords(manifest, JSON.parse(config.toString('utf8')) as Record<string, unknown>, name)
      : (() => {
          throw new Error(`${refText} is not a tsbuild cache (its config is ${manifest.config?.mediaType ?? 'missing'})`);
        })();
  // which blobs the registry still has: one HEAD each, in parallel; a record missing one is dropped
  const digests = [...new Map(all.flatMap((r) => r.layers.flatMap((l) => l.blobs)).map((b) => [b.digest, b])).values()];
  const has = new Map<string, boolean>();
  // each under a stall guard: a registry that takes a HEAD and never answers must not hold the build
  await Promise.all(digests.map((b) => client.transfers.add(async () => {
    const what = `blob ${b.digest}`;
    const stall = createStallGuard(resolveStallTimeoutMs(), what, 'the registry', deps.signal);
    try {
      const res = await client.send(ref, `/blobs/${b.digest}`, { what, method: 'HEAD', signal: stall.signal });
      res.cancel();
      has.set(b.digest, res.ok);
    } finally {
      stall.done();
    }
  })));
  const records = all.filter((r) => r.layers.every((l) => l.blobs.every((b) => has.get(b.digest))));
  const downloaded = { blobs: 0, bytes: 0 };
  return {
    name,
    ref: refText,
    records: byKey(records),
    ...(manifest.config.mediaType === CacheConfigMediaType && { mounts: readCacheMounts(manifest, config), listings: readCacheListings(manifest, config) }),
    layerTimes: manifest.config.mediaType === CacheConfigMediaType ? readLayerTimes(manifest) : inlineLayerTimes(JSON.parse(config.toString('utf8')) as Record<string, unknown>),
    downloaded,
    fetch: async (d) => {
      await client.fetchBlob(ref, d, deps.content).catch((e: unknown) => {
        throw damagedBlob(name, e);
      });
      downloaded.blobs++;
      downloaded.bytes += d.size;
    },
  };
}

/** A blob of the cache that is not what its digest says: the cache is named, and what to do. */
function damagedBlob(name: string, e: unknown): unknown {
  if (!(e instanceof TsbuildError) || e.code !== ErrorCodes.DIGEST_MISMATCH) return e;
  return new TsbuildError(`--cache-from ${name}: ${e.message}`, { code: e.code, kind: e.kind, cause: e, hint: 'the cache is damaged: build without this --cache-from, and export it again (--cache-to)' });
}

/** Fills, from the imports, the cache mounts this root does not have yet (the first import carrying an id wins). */
export async function restoreImportedMounts(imports: readonly ImportedCache[], opts: { stateRoot: string; content: ContentStore; signal?: AbortSignal; warn(m: string): void }): Promise<void> {
  const { restoreCacheMount } = await import('./cache-mounts-transfer.ts');
  const done = new Set<string>();
  for (const i of imports) {
    for (const m of i.mounts ?? []) {
      if (done.has(m.id)) continue;
      done.add(m.id);
      try {
        await i.fetch(m.blob, opts.signal);
        await restoreCacheMount(opts.stateRoot, m.id, m.blob, opts.content);
      } catch (e) {
        opts.signal?.throwIfAborted();
        opts.warn(`--cache-from ${i.name}: cache mount "${m.id}" not restored: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}
