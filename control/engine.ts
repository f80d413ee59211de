// The engine: one state root opened once (database, content store, image store, worker), then any
// number of builds, listings and store commands on it, one after another or at once, until `close`.
//
// Lifecycle: `openEngine` makes the root private, opens the database, and opens the worker, which
// registers this process as a user of the root and, when it is the only one, removes what a killed
// tsbuild left (worker/recover.ts): that recovery runs once per engine, not per build. The claim
// lasts until `close`, so a second process opening the same root meanwhile cleans nothing of ours.
// What belongs to one build (its Dockerfile text, .dockerignore, secrets, SSH agents, contexts,
// progress and cancellation) lives in that build's call and never in the engine.
//
//   const engine = await openEngine({ root: resolveStateRoot(undefined) });
//   try {
//     const result = await engine.build(resolveBuildOptions({ context: '.', tags: ['app'] }), { progress });
//   } finally {
//     await engine.close();
//   }
import type { Writable } from 'node:stream';
import { openContentStore, openImageStore, type ContentStore, type ImageStore } from '../src/content/index.ts';
import { loadConfig, type Config } from '../src/config/index.ts';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import { formatSize } from '../src/limits/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import type { TreePrewalk } from '../src/context/index.ts';
import { leaveOpenAtExit, openDatabase, openLeases, statePaths, type Database, type Leases, type StatePaths } from '../src/state/index.ts';
import { openCacheIndex, openStepLocks, type CacheIndex, type StepLocks } from '../solver/index.ts';
import { openWorker, type Worker, type WorkerOptions } from '../worker/index.ts';
import { listImages, type ImageRow } from './list-images.ts';
import type { ResolvedBuildOptions } from './options.ts';
import { runBuild, type BuildResult } from './run-build.ts';
import { diskUsage, type DuReport } from './du.ts';
import { pruneStore, type PruneOptions, type PruneResult } from './prune.ts';
import { collectGarbage } from './gc-policy.ts';
import type { Readable } from 'node:stream';
import type { Platform } from '../src/llb/index.ts';
import { imageHistory, inspectImage, type HistoryRow, type ImageInspect } from './inspect-image.ts';
import { removeImage, tagImage, type RemoveResult } from './tag-image.ts';
import { pullToStore, pushStoredImage, type PullResult, type PushResult, type TransferOptions } from './transfer-image.ts';
import { saveImages, type SaveOptions, type SaveResult } from './save-images.ts';
import { loadImages, type LoadedImage } from './load-image.ts';

export interface EngineOptions {
  /** The state root (src/state resolveStateRoot). */
  root: string;
  /** The config file as read (src/config loadConfig); default: read from where loadConfig looks. */
  config?: Config;
  /** The worker's runtime, snapshotter and sandbox network choices; default: each one's own (worker/index.ts). */
  worker?: Pick<WorkerOptions, 'runtime' | 'snapshotter' | 'networkProvider'>;
}

/** What one build brings along: where its events go, what cancels it, where `-o -` writes. */
export interface BuildRun {
  progress: ProgressSink;
  /** Aborting stops the build: steps kill their containers and clean up, outputs are not written. */
  signal?: AbortSignal;
  /** Where `--output type=tar,dest=-` streams; without it such an output is refused. */
  stdout?: Writable;
  /** The main context's walk, started when its directory was known (control/context-source.ts). */
  prewalk?: TreePrewalk;
}

/** The opened parts of a state root every build, listing and later du/prune/push shares. */
export interface EngineParts {
  readonly paths: StatePaths;
  readonly db: Database;
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly worker: Worker;
  /** Cache key → result, opened once: every build looks up and records here (solver/cache-index.ts). */
  readonly cache: CacheIndex;
  /** What running builds hold, so GC never removes it (src/state/leases.ts). */
  readonly leases: Leases;
  /** One run per cache key at a time, across this engine's builds and other processes on the root (solver/step-locks.ts). */
  readonly locks: StepLocks;
  readonly config: Config;
}

export interface Engine {
  readonly root: string;
  readonly config: Config;
  /** One build, end to end. Several may run at once; each gets its own result or error. */
  build(opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult>;
  /** The tagged images in the local store. */
  images(): Promise<ImageRow[]>;
  /** The content and image stores, to read images (tsbuild diff). */
  store(): Promise<Pick<EngineParts, 'content' | 'images'>>;
  /** `tsbuild du`: what the state root holds, record by record, with totals (control/du.ts). */
  du(): Promise<DuReport>;
  /**
   * `tsbuild prune`: removes least recently used cache that no tag, lease or running build holds
   * (control/prune.ts). Safe while builds run, here or in another process.
   */
  prune(opts?: PruneOptions): Promise<PruneResult>;
  /** `tsbuild inspect`: a stored image (by name or id) as `docker image inspect` shows it. Throws IMAGE_NOT_FOUND. */
  inspect(image: string): Promise<ImageInspect>;
  /** `tsbuild history`: the image's history, newest first. Throws IMAGE_NOT_FOUND. */
  history(image: string): Promise<HistoryRow[]>;
  /** `tsbuild tag SOURCE TARGET`: TARGET now names SOURCE's image. */
  tag(source: string, target: string): Promise<void>;
  /** `tsbuild rmi`: untags a name, or removes an image (by id: refused with IMAGE_CONFLICT while several names need it, unless forced). */
  removeImage(image: string, opts?: { force?: boolean }): Promise<RemoveResult>;
  /** `tsbuild push NAME`: the stored image to its registry. */
  push(name: string, opts?: TransferOptions): Promise<PushResult>;
  /** `tsbuild pull NAME`: the image for `platform` (default linux/amd64) from its registry, stored under NAME. */
  pull(name: string, opts?: TransferOptions & { platform?: Platform }): Promise<PullResult>;
  /** `tsbuild save`: images (under every name given) as one docker archive or OCI layout tar. */
  save(images: readonly string[], opts: SaveOptions): Promise<SaveResult>;
  /** `tsbuild load`: every image of an OCI layout or docker archive (`-` reads `stdin`). */
  load(input: { path: string; stdin?: Readable; signal?: AbortSignal }): Promise<LoadedImage[]>;
  /**
   * Waits for the builds under way (cancel them first through their signals to stop them sooner),
   * then closes the worker (ending its claim on the root) and the database. Idempotent; a build
   * asked for after it starts fails with STATE_ERROR. `exiting`: the process exits right after, so a
   * database in which nothing lasting changed (a no-change rebuild) is left to the exit, its WAL
   * kept (src/state/db.ts leaveOpenAtExit).
   */
  close(opts?: { exiting?: boolean }): Promise<void>;
}

export async function openEngine(opts: EngineOptions): Promise<Engine> {
  const config = opts.config ?? (await loadConfig(opts.root));
  const paths = statePaths(opts.root);
  const db = openDatabase(paths.db);
  let worker: Worker;
  let content: ContentStore;
  try {
    content = openContentStore(paths.content);
    // the config's [build] runtime, unless the caller chose one
    const runtime = opts.worker?.runtime ?? (config.build?.runtime && config.build.runtime !== 'auto' ? config.build.runtime : undefined);
    worker = await openWorker({ ...opts.worker, ...(runtime && { runtime }), root: paths.root, db, content });
  } catch (e) {
    db.close();
    throw e;
  }
  const locks = openStepLocks(db);
  // what a killed tsbuild held: a waiter would take it over anyway, this keeps the table small
  locks.dropStale();
  const parts: EngineParts = { paths, db, content, images: openImageStore({ content, db }), worker, cache: openCacheIndex(db, worker), leases: openLeases(db), locks, config };
  const running = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;
  const track = <T>(work: () => Promise<T>): Promise<T> => {
    if (closing) return Promise.reject(new TsbuildError(`the engine for ${paths.root} is closed`, { code: ErrorCodes.STATE_ERROR, kind: 'precondition' }));
    const p = work();
    const settled = p.then(() => undefined, () => undefined);
    running.add(settled);
    void settled.then(() => running.delete(settled));
    return p;
  };
  // builds under way in this engine: prune keeps cache mounts while one may be using them
  let builds = 0;
  let collecting: Promise<unknown> | undefined;
  const buildThenCollect = async (options: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> => {
    builds++;
    let result: BuildResult;
    try {
      result = await runBuild(parts, options, run);
    } finally {
      builds--;
    }
    // the build's lease is released: the GC policy may now prune (gc-policy.ts), one at a time
    if (!collecting) {
      collecting = collectGarbage(parts, { buildsRunning: builds > 0 })
        .then((r) => r && run.progress.emit({ type: 'build.warning', message: `cache GC: freed ${formatSize(r.freed)} (${r.removed.length} records) to keep the state root under its limit; it now holds ${formatSize(r.total)}` }))
        .catch((e: unknown) => run.progress.emit({ type: 'build.warning', message: `cache GC failed: ${e instanceof Error ? e.message : String(e)}` }))
        .finally(() => (collecting = undefined));
      await collecting;
    }
    return result;
  };
  return {
    root: paths.root,
    config,
    build: (options, run) => track(() => buildThenCollect(options, run)),
    du: () => track(() => diskUsage(parts)),
    prune: (opts = {}) => track(() => pruneStore(parts, { ...opts, buildsRunning: builds > 0 })),
    images: () => track(() => listImages(parts)),
    store: async () => ({ content: parts.content, images: parts.images }),
    inspect: (image) => track(() => inspectImage(parts, image)),
    history: (image) => track(() => imageHistory(parts, image)),
    tag: (source, target) => track(() => tagImage(parts, source, target)),
    removeImage: (image, opts = {}) => track(() => removeImage(parts, image, opts)),
    push: (name, opts = {}) => track(() => pushStoredImage(parts, name, opts)),
    pull: (name, opts = {}) => track(() => pullToStore(parts, name, opts)),
    save: (images, opts) => track(() => saveImages(parts, images, opts)),
    load: (input) => track(() => loadImages(parts, input)),
    close: (closeOpts = {}) =>
      (closing ??= (async () => {
        await Promise.all(running);
        try {
          await worker.close();
        } finally {
          if (!(closeOpts.exiting && leaveOpenAtExit(db))) db.close();
        }
      })()),
  };
}
