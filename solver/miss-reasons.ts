// The solve's side of cache-miss explanations (./explain-miss.ts): what each key needs for a later
// build to be compared with it (the step id, the op, the listing of each context read), and the
// reasons handed to progress, on the step's own event as BuildKit shows CACHED.
//
// Cost on a rebuild where nothing changed: one array push per hashed part while keys are read
// (the listings are made only for steps that run) and nothing written.
import { createListingCollector, type Listing, type ListingCollector } from '../src/context/index.ts';
import type { Vertex } from '../src/llb/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import { describeOp } from '../worker/index.ts';
import type { CacheIndex, KeyParts } from './cache-index.ts';
import type { LocalChecksum } from './cache-key.ts';
import { stepId, type MissExplainer } from './explain-miss.ts';
import { boundedOpJson } from './op-change.ts';
import type { Decision } from './plan.ts';

/** A LocalChecksum that also hands every part of the hash to `onPart` (control passes it to checksumSources). */
export type ListingChecksum = (
  contextName: string,
  src: readonly string[],
  excludePatterns: readonly string[],
  opts: Parameters<LocalChecksum>[3] & { onPart?: (part: string) => void },
) => Promise<string>;

export interface ListingRecorder {
  /** The checksum to compute keys with. */
  checksum: LocalChecksum;
  /** This build's listing of a read, by its checksum. */
  listing(checksum: string): Listing | undefined;
  /** Keeps the listings of the reads of every step that runs (what the next build compares with), then forgets them all. */
  keep(order: readonly Vertex[], plan: ReadonlyMap<string, Decision>, parts: ReadonlyMap<string, KeyParts>, cache: CacheIndex): void;
}

// What one build holds of its reads' parts until its plan, all reads together (~100 bytes a part):
// past it, further reads are not listed.
const maxHeldParts = 1_000_000;

export function createListingRecorder(checksum: ListingChecksum): ListingRecorder {
  const collected = new Map<string, ListingCollector>();
  let held = 0;
  return {
    checksum: async (name, src, excludes, o) => {
      const c = createListingCollector();
      const sum = await checksum(name, src, excludes, { ...o, onPart: c.onPart });
      if (!collected.has(sum) && held + c.held <= maxHeldParts) {
        collected.set(sum, c);
        held += c.held;
      }
      return sum;
    },
    listing: (sum) => collected.get(sum)?.listing(),
    keep(order, plan, parts, cache) {
      for (const v of order) {
        if (plan.get(v.digest)?.action !== 'run') continue;
        for (const sum of parts.get(v.digest)?.content ?? []) {
          const c = collected.get(sum);
          const listing = c?.listing();
          if (listing) cache.keepListing(sum, listing);
        }
      }
      // the reasons are given by now: what the reads saw need not outlive the plan
      collected.clear();
    },
  };
}

/** Adds to each vertex's key parts its step id and its op as the key saw it. */
export function addStepParts(order: readonly Vertex[], parts: Map<string, KeyParts>, project: string): void {
  const seen = new Map<string, number>();
  for (const v of order) {
    const p = parts.get(v.digest);
    if (!p) continue;
    const opJson = boundedOpJson(describeOp(v.op).keyedOp);
    const first = stepId(v, project);
    const occurrence = seen.get(first) ?? 0;
    seen.set(first, occurrence + 1);
    parts.set(v.digest, { ...p, step: occurrence === 0 ? first : stepId(v, project, occurrence), ...(opJson !== undefined && { opJson }) });
  }
}

/**
 * The reason each step shows: what changed for a step that runs although a result for it existed;
 * with `explain`, also why any other step runs and why each hit was a hit.
 */
export function planReasons(order: readonly Vertex[], plan: ReadonlyMap<string, Decision>, explainer: MissExplainer, explain: boolean): Map<string, string> {
  const reasons = new Map<string, string>();
  for (const v of order) {
    const d = plan.get(v.digest);
    if (d?.action === 'run' && (d.previous || explain)) reasons.set(v.digest, d.reason);
    else if (explain && d?.action === 'cached') reasons.set(v.digest, explainer.hit(d.key));
    else if (explain && d?.action === 'skip') reasons.set(v.digest, 'held by the cached result of a later step (not looked up)');
  }
  return reasons;
}

/** `progress`, with each step's reason on its vertex.started or vertex.cached event. */
export function withReasons(progress: ProgressSink, reasons: ReadonlyMap<string, string>): ProgressSink {
  if (reasons.size === 0) return progress;
  return {
    emit(e) {
      if ((e.type === 'vertex.started' || e.type === 'vertex.cached') && e.reason === undefined) {
        const reason = reasons.get(e.vertex.digest);
        if (reason !== undefined) return progress.emit({ ...e, reason });
      }
      progress.emit(e);
    },
  };
}
