// Cache keys, as DESIGN.md sets them out:
//   key(v) = sha256(op, the keys of its inputs, content checksums of what it reads from local sources)
// What each op reads, and which of its fields say only how it runs, is the op's own module's to
// say (worker/ops/<kind>.ts, asked through describeOp): this file knows no op kind. A local
// source's own key is just its op (name + patterns): what a later op reads from it is hashed by
// that op, path by path, so editing a file that no COPY reads misses nothing. See docs/cache-keys.md.
//
// The content reads (context checksums, http downloads, git lookups) are the build's I/O: each is
// a task, all of them in parallel within the build's parallelism, stopped by its signal. Keys
// are then combined in graph order, which is cheap and needs every input's key first.
import PQueue from 'p-queue';
import { canonicalJson, sha256Digest, type Op, type Vertex } from '../src/llb/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import { describeOp } from '../worker/index.ts';
import { withStep } from './step-error.ts';
import type { KeyParts } from './cache-index.ts';

/**
 * Hashes the selected paths of a local source (path, type, link target, bytes, and mode and owner
 * when the reader says they count; never mtimes). `followSymlinks` is what the reading op does
 * with a source that is a symlink: hashed as its target when the op follows it, as the link otherwise.
 */
export type LocalChecksum = (contextName: string, src: readonly string[], excludePatterns: readonly string[], opts: LocalChecksumOptions) => Promise<string>;

/** How the reading op sees the selection (the LocalRead of its op module), and the build's signal. */
export interface LocalChecksumOptions {
  followSymlinks: boolean;
  /** The entries' uid:gid reach the result (never for a build context today: its files land as 0:0 or --chown). */
  owner: boolean;
  /** The entries' mode bits reach the result (not under an absolute COPY --chmod). */
  mode: boolean;
  signal?: AbortSignal;
}

/** What a remote source holds now: an http body's digest, a git ref's commit (BuildSession.resolveSource). */
export type RemoteResolver = (op: Op, signal?: AbortSignal) => Promise<string>;

export interface CacheKeyOptions {
  checksum: LocalChecksum;
  /** Without it, remote sources are keyed by their op alone. */
  remote?: RemoteResolver;
  /** How many content reads run at once: the build's parallelism. Default 1. */
  maxParallelism?: number;
  signal?: AbortSignal;
  /** Each reading vertex reports its reads done as `vertex.progress` (id `cache-key`). */
  progress?: ProgressSink;
}

// Part of every key. Bump it when what an op *does* changes (a worker fix that makes the same op
// produce other files), so results built by an older tsbuild are never reused as if current.
// 3: context checksums leave out what never reaches the result (owners, modes under an absolute
// --chmod), so checksums of the same tree are hashed differently than under 2.
export const cacheKeyVersion = 3;

/**
 * The key of every vertex of `order` (inputs before the vertices that read them), by vertex digest.
 * With `parts`, also what each key was made of (kept in the cache index to explain a miss).
 */
export async function computeCacheKeys(order: readonly Vertex[], opts: CacheKeyOptions, parts?: Map<string, KeyParts>): Promise<Map<string, string>> {
  const contents = await readContents(order, opts);
  const keys = new Map<string, string>();
  for (const v of order) {
    const inputs = v.inputs.map((i) => keys.get(i.digest)!);
    const op = describeOp(v.op).keyedOp;
    const content = contents.get(v.digest);
    keys.set(v.digest, sha256Digest(canonicalJson({ v: cacheKeyVersion, op, inputs, content })));
    parts?.set(v.digest, { op: sha256Digest(canonicalJson({ v: cacheKeyVersion, op })), inputs, content: content ?? [] });
  }
  return keys;
}

// what the reads still queued or running see: the first failure is the one computeCacheKeys throws
const stoppedByEarlierFailure = new Error('stopped: another content read failed');

/** Every vertex's content checksums, read in parallel; the first failure stops the rest and is the one thrown. */
async function readContents(order: readonly Vertex[], opts: CacheKeyOptions): Promise<Map<string, string[]>> {
  const queue = new PQueue({ concurrency: Math.max(1, opts.maxParallelism ?? 1) });
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) onOuterAbort();
  const task = (read: () => Promise<string>) =>
    queue.add(async () => {
      abort.signal.throwIfAborted();
      try {
        return await read();
      } catch (e) {
        // at once, not when the rejection has reached Promise.all below: queued reads never start
        abort.abort(stoppedByEarlierFailure);
        throw e;
      }
    }) as Promise<string>;
  try {
    // the build's cancellation is no step's failure: it leaves as it came
    const failed = (v: Vertex) => (e: unknown) => Promise.reject(e === opts.signal?.reason ? e : withStep(e, v));
    const all = await Promise.all(order.map(async (v) => [v.digest, await contentChecksums(v, opts, task, abort.signal).catch(failed(v))] as const));
    return new Map(all);
  } catch (e) {
    abort.abort(e);
    // nothing reads on after the keys have failed
    await queue.onIdle();
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** What `v` reads, one checksum per reading place, in the order its op module lists them. */
async function contentChecksums(v: Vertex, opts: CacheKeyOptions, task: (read: () => Promise<string>) => Promise<string>, signal: AbortSignal): Promise<string[]> {
  const { reads } = describeOp(v.op);
  const parts: (() => Promise<string>)[] = [];
  for (const r of reads.local) {
    const input = r.input === undefined ? undefined : v.inputs[r.input];
    // only a build context is hashed path by path: any other input's content is in its key
    const context = input && describeOp(input.op).context;
    if (context) parts.push(() => opts.checksum(context.name, r.paths, context.excludePatterns, { followSymlinks: r.followSymlinks, owner: r.owner, mode: r.mode, signal }));
  }
  const remote = opts.remote;
  if (reads.remote && remote) parts.push(() => remote(v.op, signal));
  if (parts.length === 0) return [];
  const vertex = { digest: v.digest, name: v.meta.name };
  let done = 0;
  const report = () => opts.progress?.emit({ type: 'vertex.progress', vertex, id: 'cache-key', current: done, total: parts.length, label: 'reading content for the cache key' });
  report();
  return Promise.all(
    parts.map((read) =>
      task(read).then((sum) => {
        done++;
        report();
        return sum;
      }),
    ),
  );
}
