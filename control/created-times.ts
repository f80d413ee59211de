// `created` in an image's config and history, as BuildKit sets them:
//  - each history entry this build added gets the time its layer was made (the snapshot's commit
//    time: a cached step keeps its time, so a no-change rebuild gives the same image); an entry
//    without a layer (ENV, CMD) takes the time of the layer before it (or after it, at the start);
//  - config.created is the last entry's time;
//  - SOURCE_DATE_EPOCH (env or build-arg) replaces every time later than it, and is config.created:
//    two builds of the same inputs then give the same bytes, wherever and whenever they run.
// Entries a base image brought keep their times.
import { ErrorCodes, invalid } from '../src/errors/index.ts';
import type { HistoryEntry, ImageConfig } from '../src/image/index.ts';

/** SOURCE_DATE_EPOCH as given (whole seconds since 1970), or undefined when unset or empty. */
export function parseSourceDateEpoch(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (!/^\d{1,12}$/.test(text.trim())) throw invalid(ErrorCodes.OPTION_INVALID, `SOURCE_DATE_EPOCH="${text}" is not a time`, { hint: 'whole seconds since 1970-01-01 UTC, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' });
  return Number(text.trim());
}

/**
 * `config` with times set. `layerTimes[i]` is when the i-th layer of the image (bottom first, one
 * per history entry without empty_layer) was made, in ms; `now` fills what nothing else does.
 */
export function stampCreated(config: ImageConfig, layerTimes: readonly (number | undefined)[], opts: { epoch?: number; now: number }): ImageConfig {
  // RFC 3339 as Go writes it (BuildKit's form): no fraction when it is zero
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const history: HistoryEntry[] = (config.history ?? []).map((h) => ({ ...h }));
  let layer = 0;
  for (const h of history) {
    if (h.empty_layer) continue;
    const t = layerTimes[layer++];
    if (h.created === undefined) h.created = iso(t ?? opts.now);
  }
  let previous: string | undefined;
  for (const h of history) {
    if (h.created === undefined && previous !== undefined) h.created = previous;
    previous = h.created ?? previous;
  }
  let next: string | undefined;
  for (const h of [...history].reverse()) {
    if (h.created === undefined) h.created = next ?? iso(opts.now);
    next = h.created;
  }
  if (opts.epoch !== undefined) {
    const epochMs = opts.epoch * 1000;
    const epoch = iso(epochMs);
    for (const h of history) if (h.created === undefined || !(Date.parse(h.created) <= epochMs)) h.created = epoch;
    return { ...config, created: epoch, ...(config.history ? { history } : {}) };
  }
  const created = history.at(-1)?.created ?? iso(opts.now);
  return { ...config, created, ...(config.history ? { history } : {}) };
}

/**
 * Whether the image's layers get their file times clamped to the epoch (worker/layer/clamp-times.ts):
 * whenever SOURCE_DATE_EPOCH is set, unless an image output says `rewrite-timestamp=false`. BuildKit
 * clamps only with `rewrite-timestamp=true`; here the epoch alone makes the image byte-reproducible
 * (docs/outputs.md). The outputs of one build share one image, so one `false` opts them all out.
 */
export function clampsLayerTimes(epoch: number | undefined, outputs: readonly object[]): epoch is number {
  return epoch !== undefined && !outputs.some((o) => 'rewriteTimestamp' in o && o.rewriteTimestamp === false);
}

/**
 * How many layers at the bottom of the image a base image brought (left as they are, as BuildKit
 * does): the longest run of `diffIds` from the bottom that starts one of `images` (the diff_ids of
 * each image this build resolved).
 */
export function baseLayerCount(diffIds: readonly string[], images: readonly (readonly string[])[]): number {
  let best = 0;
  for (const image of images) {
    let n = 0;
    while (n < diffIds.length && n < image.length && diffIds[n] === image[n]) n++;
    best = Math.max(best, n);
  }
  return best;
}

/** Notes the diff_ids of every image a build resolves (wrap its resolver in `note`), for baseLayerCount. */
export function baseImagesOf(): {
  note: <A extends unknown[], R extends { config: ImageConfig }>(resolve: (...args: A) => Promise<R>) => (...args: A) => Promise<R>;
  diffIds: () => readonly (readonly string[])[];
} {
  const seen: string[][] = [];
  return {
    note: (resolve) => async (...args) => {
      const image = await resolve(...args);
      seen.push([...(image.config.rootfs?.diff_ids ?? [])]);
      return image;
    },
    diffIds: () => seen,
  };
}
