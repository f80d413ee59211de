// Why a step runs although the cache index knows it, and (for --explain) why a hit was a hit.
// A miss is compared with the last result of the same Dockerfile step (its `step` id: project,
// Dockerfile and step name; entries older than step ids: the last result of the same op),
// part by part: the op (./op-change.ts: "build-arg VERSION changed", "base image digest changed"),
// each input ("earlier step "[stage-0 2/5] RUN …" changed", ".dockerignore patterns changed") and
// each content read (the per-path listings of the two checksums, src/context/listing.ts:
// "src/app.js content changed", "added src/new.js"). See docs/cache-keys.md.
import { describeListingChanges, diffListings, type Listing } from '../src/context/index.ts';
import { canonicalJson, sha256Digest, type Vertex } from '../src/llb/index.ts';
import { describeOp } from '../worker/index.ts';
import type { CacheReader, KeyParts, SimilarEntry } from './cache-index.ts';
import { describeOpChange } from './op-change.ts';

export interface MissReason {
  reason: string;
  /** A result for this step existed (or the cache was turned off): what changed is worth showing to every user. */
  previous: boolean;
}

export interface ExplainOptions {
  cache: CacheReader;
  /** What each vertex's key was made of (with `step` and `opJson`), by vertex digest. */
  parts: ReadonlyMap<string, KeyParts>;
  /** This build's listings of its context reads, by checksum. */
  listings?: (checksum: string) => Listing | undefined;
  /** --no-cache (every step) rather than --no-cache-filter (some stages). */
  noCache?: boolean;
}

export interface MissExplainer {
  miss(v: Vertex, key: string, why?: { ignored: boolean }): MissReason | undefined;
  /** For --explain: why a cached step (of cache key `key`) was a hit. */
  hit(key: string): string;
}

/**
 * The id of a Dockerfile step across builds: its instruction in its stage of one project's
 * Dockerfile, without the `[stage 2/5]` position, so a line inserted above keeps the steps below
 * the same; `occurrence` tells the same instruction written twice in a stage apart.
 */
export function stepId(v: Vertex, project: string, occurrence = 0): string {
  const instruction = v.meta.name.replace(/^\[[^\]]*\] /, '');
  return sha256Digest(canonicalJson({ project, file: v.meta.location?.file ?? '', stage: v.meta.stage ?? '', instruction, occurrence }));
}

export function createMissExplainer(opts: ExplainOptions): MissExplainer {
  const { cache, parts } = opts;
  return {
    miss(v, key, why) {
      if (why?.ignored) {
        // said only when a result was there to be reused
        if (!cache.lookup(key)) return undefined;
        const filter = v.meta.stage === undefined ? 'cache disabled (--no-cache-filter)' : `cache disabled for stage ${v.meta.stage} (--no-cache-filter)`;
        return { reason: opts.noCache ? 'cache disabled (--no-cache)' : filter, previous: true };
      }
      if (cache.recorded(key)) return { reason: 'its cached result was removed (no snapshot, no layer blobs left)', previous: true };
      const mine = parts.get(v.digest);
      if (!mine) return undefined;
      // entries recorded before steps were named are found by their op
      const last = (mine.step !== undefined ? cache.lastOfStep?.(mine.step, key) : undefined) ?? cache.similar(mine, 1).find((e) => e.parts.step === undefined);
      if (!last) return { reason: 'no earlier build of this step in the cache', previous: false };
      return { reason: `${changes(v, mine, last).join('; ')} (since the build of ${when(last.lastUsed)}${last.importedFrom === undefined ? '' : ` in cache-from ${last.importedFrom}`})`, previous: true };
    },
    hit(key) {
      const entry = cache.lookup(key);
      const from = entry?.snapshot === undefined && entry?.layers?.length ? ', unpacked from its layer blobs' : '';
      const built = cache.created?.(key);
      return `same op, inputs and content as ${built === undefined ? 'an earlier build' : `the build of ${when(built)}`}${from}`;
    },
  };

  function changes(v: Vertex, mine: KeyParts, last: SimilarEntry): string[] {
    const out: string[] = [];
    if (mine.op !== last.parts.op) out.push(...describeOpChange(last.parts.opJson, mine.opJson, v.meta.buildArgs));
    // its own changes first, then the earlier steps that changed (each explains itself above it)
    if (mine.content.length !== last.parts.content.length) out.push('what it reads changed');
    else
      mine.content.forEach((sum, i) => {
        if (last.parts.content[i] !== sum) out.push(describeContent(v, i, last.parts.content[i], sum));
      });
    if (mine.inputs.length !== last.parts.inputs.length) out.push('its inputs changed');
    else
      mine.inputs.forEach((k, i) => {
        if (last.parts.inputs[i] !== k) out.push(describeInput(v.inputs[i]));
      });
    return out.length > 0 ? out : ['its key changed'];
  }

  function describeContent(v: Vertex, index: number, before: string, after: string): string {
    const { reads } = describeOp(v.op);
    if (reads.remote && index === reads.local.length) return `what the remote source holds changed (${short(before)} → ${short(after)})`;
    const a = cache.listing?.(before);
    // a read answered by its fingerprint (src/context/read-fingerprints.ts) listed nothing: its
    // checksum's listing was kept when that checksum was first read
    const b = opts.listings?.(after) ?? cache.listing?.(after);
    if (!a || !b) return 'what it reads from the build context changed';
    const diff = diffListings(a, b);
    return diff.length > 0 ? describeListingChanges(diff) : 'what it reads from the build context changed';
  }
}

function describeInput(input: Vertex | undefined): string {
  if (!input) return 'an earlier step changed';
  const context = describeOp(input.op).context;
  // a build context's own key is its name and exclude patterns: only the patterns can change
  if (context) return context.name === 'context' ? '.dockerignore patterns changed' : `exclude patterns of build context "${context.name}" changed`;
  return `earlier step "${input.meta.name}" changed`;
}

const short = (d: string) => (d.length > 19 ? `${d.slice(0, 19)}…` : d);

/** A build's time as the user's clock showed it, to the second. */
function when(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
