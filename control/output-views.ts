// The image views a build's outputs write. The local store's view takes each layer's blob as the
// build stored it (uncompressed for a layer it made: tarred and hashed once, nothing compressed; a
// pulled layer keeps the registry's blob). An output that leaves the machine (oci, docker, a push)
// asks for its compression, and each compression is made once per build, in parallel over the
// layers, shared by every output that asks for it; the worker records each blob per diff, so a
// later build's export or push reuses it. Every view has the same config, so the image id does not
// depend on the compression.
import type { LayerCompression, ImageView, OutputSpec } from '../exporter/index.ts';
import { createImageView, defaultLayerCompression } from '../exporter/index.ts';
import type { ContentStore } from '../src/content/index.ts';
import type { ImageConfig, LayerBlob } from '../src/image/index.ts';
import type { Lease } from '../src/state/index.ts';
import type { Worker } from '../worker/index.ts';
import { compressLayers, type CompressOptions } from './compress-layers.ts';
import { baseLayerCount } from './created-times.ts';

export interface OutputViewsOptions extends Omit<CompressOptions, 'layer'> {
  worker: Pick<Worker, 'layer'>;
  /** The result's snapshot chain, bottom first. */
  chain: readonly string[];
  /** The image config, or how to make it from the layers (the same diffIds whatever their compression, so every view gets the same config). */
  config: ImageConfig | ((layers: readonly LayerBlob[]) => ImageConfig | Promise<ImageConfig>);
  content: ContentStore;
  /** Holds every blob the views name until the build ends. */
  lease: Pick<Lease, 'add' | 'addAll'>;
  /**
   * The compressions the build's outputs will ask for (leavingCompressions): local() makes the
   * first one together with the uncompressed layers, in one walk of each snapshot.
   */
  ahead?: readonly LayerCompression[];
  /**
   * SOURCE_DATE_EPOCH's clamp: the layers this build made get file times later than `epoch` set to
   * it; the bottom layers a base image brought (`baseDiffIds`: the diff_ids of the images this build
   * resolved, control/created-times.ts baseLayerCount) stay as they are.
   */
  clampTimes?: { epoch: number; baseDiffIds: () => readonly (readonly string[])[] };
}

/** What each output that leaves the machine (oci, docker, a push) will ask `compressed` for, in output order. */
export function leavingCompressions(outputs: readonly OutputSpec[]): LayerCompression[] {
  return outputs.flatMap((o) => (o.type === 'oci' || o.type === 'docker' || (o.type === 'image' && o.push) ? [o.compression ?? defaultLayerCompression] : []));
}

export interface OutputViews {
  /** The view the local store tags. */
  local(): Promise<ImageView>;
  /** The view with its layers in `compression` (made on the first ask, then shared). */
  compressed(compression: LayerCompression): Promise<ImageView>;
}

export function createOutputViews(opts: OutputViewsOptions): OutputViews {
  const made = new Map<string, Promise<ImageView>>();
  // which layers are clamped, from the diffs as stored (unclamped): found once
  let clampFrom: Promise<number> | undefined;
  const clamp = async () => {
    const c = opts.clampTimes;
    if (!c) return undefined;
    clampFrom ??= compressLayers(opts.worker, opts.chain, { ...opts, layer: { compression: 'uncompressed', reuse: 'any' } }).then((ls) => baseLayerCount(ls.map((l) => l.diffId), c.baseDiffIds()));
    return { epoch: c.epoch, from: await clampFrom };
  };
  const view = async (layer: NonNullable<CompressOptions['layer']>) => {
    // BuildKit keeps an empty diff as a layer (the oracle shows `RUN true` and a WORKDIR that
    // already exists each adding one), and images must match it layer for layer
    const layers = (await compressLayers(opts.worker, opts.chain, { ...opts, layer, clamp: await clamp() })).map((l) => ({ ...l, empty: false }));
    // one commit for them all (a write each was ~0.1 ms and three WAL pages, times the layers)
    opts.lease.addAll(layers.map((l) => ['blob', l.digest] as const));
    const config = typeof opts.config === 'function' ? await opts.config(layers) : opts.config;
    const v = await createImageView({ config, layers, content: opts.content });
    opts.lease.addAll([['blob', v.configDescriptor.digest], ['blob', v.manifestDescriptor.digest]]);
    return v;
  };
  const once = (key: string, make: () => Promise<ImageView>) => {
    let p = made.get(key);
    if (!p) made.set(key, (p = make()));
    return p;
  };
  const compressed = (c: LayerCompression, keepUncompressed = false) =>
    once(`${c.compression}:${c.level ?? ''}:${c.force}`, () => view({ compression: c.compression, level: c.level, reuse: c.force ? 'exact' : 'compressed', keepUncompressed }));
  // a layer made here is tarred once for both: the uncompressed blob (what local takes) and the
  // output's compressed one come from one walk of the snapshot and one hash of its tar
  const first = opts.ahead?.find((c) => c.compression !== 'uncompressed');
  return {
    local: () =>
      once('local', async () => {
        if (first) await compressed(first, true);
        return view({ compression: 'uncompressed', reuse: 'any' });
      }),
    compressed: (c) => compressed(c),
  };
}
