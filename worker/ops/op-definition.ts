// What one op kind offers the solver: the parts of its cache key, as data, and how to run it.
// One module per kind in this folder fills it in; ./table.ts lists them, typed so that an op
// kind without a module fails to compile.
//
// Lifecycle: the solver asks `describeOp(op)` (pure, no worker needed) for the key's parts and the
// plan's properties; an opened worker `open`s every definition once, and its `run(op, inputs,
// ctx)` hands the op to the runner of its kind. What a runner remembers of one build (an http
// download, a git ref's commit, both shared by `resolve` and `run`) it keeps in that build's
// session (`session.keep(slot)`), never in the runner: the worker outlives the build.
import type { Op, SourceOp } from '../../src/llb/index.ts';
import type { BuildSession, InputRef, RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';

/** An op's name in the table: a source by what it reads (`image`, `local`, `http`, `git`), any other op by its kind. */
export type OpName = SourceOp['source'] | Exclude<Op, SourceOp>['kind'];

/** The op that `name` stands for. */
export type OpOf<N extends OpName> = Extract<SourceOp, { source: N }> | Extract<Exclude<Op, SourceOp>, { kind: N }>;

/**
 * A selection of an input that the op reads. When the input is a build context (a local source),
 * the key hashes the content of these paths (path, type, link target, bytes, and mode and owner
 * where the read says they matter; never mtimes): a local source's own key is only its name and patterns.
 */
export interface LocalRead {
  /** Index into the vertex's inputs; undefined reads nothing (an empty filesystem). */
  input: number | undefined;
  /** Absolute paths inside the input, wildcards allowed, as the op copies them. */
  paths: readonly string[];
  /** A path that is a symlink is read as its target (true) or as the link itself. */
  followSymlinks: boolean;
  /**
   * The entries' uid:gid reach the result, so they are part of the key. False for every read of a
   * build context today: its files arrive owned by 0:0 (or --chown), as BuildKit's client sends
   * them, so a laptop's user 1000 and CI's root give the same key. See docs/cache-keys.md.
   */
  owner: boolean;
  /** The entries' mode bits reach the result (false under an absolute COPY --chmod, which replaces them). */
  mode: boolean;
}

/** What an op's cache key is made of besides the op itself and its inputs' keys. */
export interface KeyReads {
  /** In this order: one content checksum per read of a build context. */
  local: readonly LocalRead[];
  /** What the source holds now (an http body's digest, a git ref's commit) is part of the key. */
  remote: boolean;
}

/** A build context as the op names it: the host directory is given to the build by this name. */
export interface ContextRef {
  name: string;
  excludePatterns: readonly string[];
}

export interface OpDefinition<O extends Op> {
  /** The op as its key sees it: fields that say only how it runs are left out. Default: the op itself. */
  keyedOp?(op: O): unknown;
  reads(op: O): KeyReads;
  /** Set for a build context: it is never run nor cached, ops read the host directory it names. */
  context?(op: O): ContextRef;
  /** Still answered from the cache under --no-cache: the op pins its result (an image's manifest digest). */
  cachedUnderNoCache?: true;
  /** The op runs in the `sandbox` network: one is worth setting up while earlier steps run. */
  usesSandboxNetwork?(op: O): boolean;
  /** The runner of this kind on one worker; called once, when the worker opens. */
  open(env: WorkerEnv): OpRunner<O>;
}

/** A run's context as a runner sees it: always in a build's session (the worker opens one for a run outside any). */
export type OpRunContext = RunContext & { readonly session: BuildSession };

export interface OpRunner<O extends Op> {
  /** Resolves to the new committed snapshot (undefined: the empty filesystem). */
  run(op: O, inputs: readonly InputRef[], ctx: OpRunContext): Promise<string | undefined>;
  /** What the source holds now, for its key (when `reads(op).remote`), remembered in `session` for the run. */
  resolve?(op: O, session: BuildSession, signal?: AbortSignal): Promise<string>;
  /** Frees what the runner kept for the worker's life. */
  close?(): Promise<void>;
}

/** The same for every op: no read, nothing remote. */
export const readsNothing: KeyReads = Object.freeze({ local: [], remote: false });
