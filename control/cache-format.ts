// The remote cache's format (docs/remote-cache.md): one OCI image manifest any registry stores (not
// an index: ECR, GAR, Quay and Harbor refused BuildKit's index form for years), whose config is the
// cache graph and whose layers are the result blobs. Each record names its cache key, the layers
// of its result (indices into the manifest's layers, bottom first) and the parts its key was made
// of, so a miss against an imported cache can be explained as one against the local cache.
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import { MediaTypes, type Descriptor, type ImageManifest } from '../src/image/index.ts';
import type { ImportedRecord, KeyParts } from '../solver/index.ts';

export const CacheArtifactType = 'application/vnd.tsbuild.cache.v1+json';
export const CacheConfigMediaType = 'application/vnd.tsbuild.cache.config.v1+json';
/** The image config's field holding an inline cache (--cache-to type=inline): a CacheConfig over the image's layers. */
export const InlineCacheField = 'dev.tsbuild.cache.v1';
/** On a layer descriptor: when the exporting build made that layer (ms since 1970), so an importer stamps the same image times. */
export const CreatedAnnotation = 'dev.tsbuild.cache.created';
/** A per-path listing of one context read (src/context/listing.ts, deflated), so an importer's miss names the file that differs. */
export const ListingMediaType = 'application/vnd.tsbuild.cache.listing.v1+deflate';
/** On each layer descriptor: the digest of its uncompressed tar (the diffID). */
export const DiffIdAnnotation = 'dev.tsbuild.cache.diffid';

export interface CacheConfig {
  version: 1;
  records: CacheConfigRecord[];
  /** `cache-mounts=true`: RUN --mount=type=cache contents, one gzip tar each (an index into the manifest's layers). */
  cacheMounts?: { id: string; layer: number }[];
  /** The listings of the records' context reads, by content checksum (an index into the manifest's layers). */
  listings?: { checksum: string; layer: number }[];
}

export interface CacheConfigRecord {
  key: string;
  /** Indices into the manifest's layers, bottom first; [] is the empty filesystem. */
  layers: number[];
  /** When the exporting build recorded the result (ISO time). */
  created: string;
  parts?: { op: string; inputs: string[]; content: string[]; step?: string };
  description?: string;
}

export function cacheManifest(config: Descriptor, layers: Descriptor[]): ImageManifest & { artifactType: string } {
  return { schemaVersion: 2, mediaType: MediaTypes.ociManifest, artifactType: CacheArtifactType, config, layers };
}

const sha = /^sha256:[a-f0-9]{64}$/;

/** Layer references a cache's records may make in all: 1,000 steps of a 127-layer image are 127,000. */
export const MaxLayerReferences = 1 << 20;

/** The records of a cache manifest and its config, checked: a foreign or damaged cache is an error the caller turns into a warning. */
export function readCacheRecords(manifest: ImageManifest, configBytes: Buffer, name: string): ImportedRecord[] {
  if (manifest.config?.mediaType !== CacheConfigMediaType) {
    throw invalid(ErrorCodes.IMAGE_INVALID, `${name} is not a tsbuild cache (its config is ${manifest.config?.mediaType ?? 'missing'})`);
  }
  let config: CacheConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as CacheConfig;
  } catch (e) {
    throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: the cache config is not JSON: ${(e as Error).message}`);
  }
  if (config.version !== 1 || !Array.isArray(config.records)) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: unknown cache config version ${String(config.version)}`);
  const layers = manifest.layers ?? [];
  for (const l of layers) {
    if (l.mediaType === ListingMediaType && sha.test(l.digest)) continue;
    if (!sha.test(l.digest) || !sha.test(l.annotations?.[DiffIdAnnotation] ?? '')) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: layer ${l.digest} has no valid ${DiffIdAnnotation} annotation`);
  }
  // one LayerRecord per manifest layer, shared by the records naming it; and a bound on how many
  // they name in all, so a config of a million indices does not become a million objects
  const layerRecords = layers.map((l) => ({ diffId: l.annotations?.[DiffIdAnnotation] ?? '', empty: false, blobs: [stripAnnotations(l)] }));
  let named = 0;
  const out: ImportedRecord[] = [];
  for (const r of config.records) {
    if (typeof r?.key !== 'string' || !sha.test(r.key) || !Array.isArray(r.layers)) continue;
    named += r.layers.length;
    if (named > MaxLayerReferences) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: its records name more than ${MaxLayerReferences} layers in all`);
    if (!r.layers.every((i) => Number.isInteger(i) && i >= 0 && i < layers.length)) continue;
    const parts: KeyParts | undefined = r.parts && typeof r.parts.op === 'string' && Array.isArray(r.parts.inputs) && Array.isArray(r.parts.content)
      ? { op: r.parts.op, inputs: r.parts.inputs.map(String), content: r.parts.content.map(String), ...(typeof r.parts.step === 'string' && { step: r.parts.step }) }
      : undefined;
    const created = Date.parse(r.created);
    out.push({
      key: r.key,
      layers: r.layers.map((i) => layerRecords[i]),
      ...(parts && { parts }),
      created: Number.isFinite(created) ? created : 0,
    });
  }
  return out;
}

function stripAnnotations(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** The records of an image's inline cache: their layers index the image manifest's layers, diffIDs from its rootfs. */
export function readInlineRecords(manifest: ImageManifest, imageConfig: Record<string, unknown>, name: string): ImportedRecord[] {
  const inline = imageConfig[InlineCacheField];
  if (inline === undefined) throw invalid(ErrorCodes.IMAGE_INVALID, `${name} is an image without an inline cache (build it with --cache-to type=inline)`);
  const diffIds = ((imageConfig.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? []);
  if (diffIds.length !== (manifest.layers ?? []).length) throw invalid(ErrorCodes.IMAGE_INVALID, `${name}: its config lists ${diffIds.length} layers, its manifest ${manifest.layers?.length ?? 0}`);
  const annotated = { ...manifest, config: { ...manifest.config, mediaType: CacheConfigMediaType }, layers: manifest.layers.map((l, i) => ({ ...l, annotations: { ...l.annotations, [DiffIdAnnotation]: diffIds[i] } })) };
  return readCacheRecords(annotated, Buffer.from(JSON.stringify(inline)), name);
}

/** The cache mounts a cache carries (`cache-mounts=true`), each a blob of the manifest. */
export function readCacheMounts(manifest: ImageManifest, configBytes: Buffer): { id: string; blob: Descriptor }[] {
  const config = JSON.parse(configBytes.toString('utf8')) as CacheConfig;
  const layers = manifest.layers ?? [];
  return (Array.isArray(config.cacheMounts) ? config.cacheMounts : [])
    .filter((m) => typeof m?.id === 'string' && Number.isInteger(m.layer) && m.layer >= 0 && m.layer < layers.length)
    .map((m) => ({ id: m.id, blob: stripAnnotations(layers[m.layer]) }));
}

/** The listings a cache carries, by the checksum of the context read each lists. */
export function readCacheListings(manifest: ImageManifest, configBytes: Buffer): Map<string, Descriptor> {
  const config = JSON.parse(configBytes.toString('utf8')) as CacheConfig;
  const layers = manifest.layers ?? [];
  const out = new Map<string, Descriptor>();
  for (const l of Array.isArray(config.listings) ? config.listings : []) {
    const layer = Number.isInteger(l?.layer) && l.layer >= 0 && l.layer < layers.length ? layers[l.layer] : undefined;
    if (typeof l?.checksum === 'string' && layer?.mediaType === ListingMediaType) out.set(l.checksum, stripAnnotations(layer));
  }
  return out;
}

/** diffID → when the exporting build made that layer, from the manifest's annotations. */
export function readLayerTimes(manifest: ImageManifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of manifest.layers ?? []) {
    const diffId = l.annotations?.[DiffIdAnnotation];
    const t = Number(l.annotations?.[CreatedAnnotation]);
    if (diffId && Number.isSafeInteger(t) && t > 0) out.set(diffId, t);
  }
  return out;
}

/** diffID → its history entry's time, for an image carrying an inline cache. */
export function inlineLayerTimes(imageConfig: Record<string, unknown>): Map<string, number> {
  const diffIds = ((imageConfig.rootfs as { diff_ids?: string[] } | undefined)?.diff_ids ?? []);
  const history = ((imageConfig.history as { created?: string; empty_layer?: boolean }[] | undefined) ?? []).filter((h) => !h.empty_layer);
  const out = new Map<string, number>();
  diffIds.forEach((d, i) => {
    const t = Date.parse(history[i]?.created ?? '');
    if (Number.isFinite(t)) out.set(d, t);
  });
  return out;
}
