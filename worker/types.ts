// The worker's contract: one vertex in, one result out. It knows nothing of Dockerfiles,
// stages or instructions; it sees only ops from src/llb.
import type { ImageSource, Op, Platform } from '../src/llb/index.ts';
import type { Readable, Writable } from 'node:stream';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { ResourceLimits } from '../src/limits/index.ts';
import type { Descriptor, LayerBlob } from '../src/image/index.ts';
import type { WorkerStorage } from './storage.ts';

/** What an op reads as one of its inputs. */
export type InputRef =
  /** A committed snapshot chain; `id` undefined is the empty filesystem (scratch). */
  | { type: 'snapshot'; id: string | undefined }
  /** A host directory (a build context), filtered by .dockerignore-style patterns. */
  | { type: 'local'; dir: string; excludePatterns: readonly string[] };

/** What running an op gives: a committed snapshot; undefined only for an image without layers (the empty filesystem). */
export type RunResult<O extends Op> = O extends ImageSource ? string | undefined : string;

/**
 * Which stored blob of a diff `worker.layer` may answer with instead of making the one asked for:
 * - `exact`: only the asked compression and level;
 * - `any`: any stored blob, uncompressed first (the local image store: no work when one exists);
 * - `compressed`: a stored compressed blob when the diff has no uncompressed one (a layer pulled
 *   from a registry keeps its blob, as buildx without force-compression); else the asked one.
 */
export type LayerReuse = 'exact' | 'any' | 'compressed';

/**
 * One layer of a result as blobs: its diff's diffId and a blob per compression that exists (an
 * image's layer has one; a built layer gzip and zstd once both were exported). What a cache entry
 * holds when its snapshot is not on this machine, and what an image is a list of.
 */
export interface LayerRecord {
  diffId: string;
  /** The diff holds no change (exporters may drop it). */
  empty: boolean;
  blobs: readonly Descriptor[];
}

/** What a build hands every step besides the op: how steps run, never part of a cache key. */
export interface RunInputs {
  /**
   * Secret values by id, for RUN --mount=type=secret (exec only). They are mounted from a tmpfs and
   * never reach a layer, a cache key or the state root.
   */
  secrets?: ReadonlyMap<string, Buffer>;
  /** The build's resource limits for every exec (memory, cpu, pids, /dev/shm, rlimits); never part of a cache key. */
  limits?: ResourceLimits;
  /**
   * SSH agent sockets on the host by id, for RUN --mount=type=ssh (exec only). A RUN reaches one
   * through a forwarding socket that allows only listing keys and signing; not part of any key.
   */
  sshAgents?: ReadonlyMap<string, string>;
  /** Registries this build reaches over plain HTTP (--insecure-registry), for the image op's layer fetches. */
  insecureRegistries?: readonly string[];
  /** Origins tried before Docker Hub for docker.io layers (registry-mirrors in the config file). */
  registryMirrors?: readonly string[];
}

export interface RunContext extends RunInputs {
  vertex: VertexRef;
  progress: ProgressSink;
  signal: AbortSignal;
  /**
   * The build this run belongs to: a source reuses what the build's cache key fetched (the http
   * body, the git commit). Without it, the run is a build of its own (fetched again, removed after).
   */
  session?: BuildSession;
  /**
   * The committed snapshot the last build of the same step made (its result under another key),
   * held by the build: a COPY from a build context links the files it would write unchanged from
   * it (worker/file/copy-reuse.ts). Never written to.
   */
  previous?: string;
}

/**
 * One build's use of the worker, from the start of its solve to its end. What the sources fetch
 * lives here, not in the worker: within the build an http URL is downloaded once and a git ref
 * asked once (its cache key and its step see the same content), and the next build on the same
 * worker asks again, so a changed file or a moved branch is seen. Two builds at once each have
 * their own.
 *
 *   const session = worker.openSession();
 *   try {
 *     const digest = await session.resolveSource(httpOp, signal);        // for the cache key
 *     const id = await worker.run(httpOp, [], { ...ctx, session });      // the same download
 *   } finally {
 *     await session.close();                                             // downloads removed from tmp
 *   }
 */
export interface BuildSession {
  /**
   * What a remote source holds now, for its cache key: the digest of an http body (downloading
   * it; a run in this session then reuses the download) or the commit a git ref names (a run in
   * this session checks out that commit). Only for an op whose key reads are `remote` (describeOp).
   */
  resolveSource(op: Op, signal?: AbortSignal): Promise<string>;
  /** This build's value of `slot`, made on first use (for the op runners). STATE_ERROR once closed. */
  keep<T>(slot: SessionSlot<T>): T;
  /**
   * Ends the build's use: every slot's value is released (downloads removed from tmp). Call it
   * once the build's runs and reads are over (success, failure or cancel). Idempotent; never throws.
   */
  close(): Promise<void>;
}

/** Something an op runner remembers for one build: made on the build's first use, released at its end. */
export interface SessionSlot<T> {
  create(): T;
  /** Frees what the value holds (files in tmp); awaited by BuildSession.close. */
  release?(value: T): Promise<void>;
}

export interface Worker {
  /**
   * Runs one op on its inputs (worker/ops/<kind>.ts says how) and resolves to the new committed
   * snapshot, or undefined for the empty filesystem (an image without layers). A build context
   * (local source) is never run: ops read it as a `local` input.
   *
   *   image: the layers, fetched from the registry when neither unpacked nor stored, as a snapshot
   *          chain (idempotent: layers unpacked before are reused);
   *   exec:  the command in a sandbox on `inputs[root.input]`;
   *   file:  the actions applied on top of `inputs[op.base]`;
   *   http:  the URL's body as `/<filename>` (downloaded once per build session, shared with
   *          its `resolveSource`); a checksum mismatch is DIGEST_MISMATCH;
   *   git:   the repository at `op.ref` (without .git unless keepGitDir).
   */
  run<O extends Op>(op: O, inputs: readonly InputRef[], ctx: RunContext): Promise<RunResult<O>>;
  /** A new build's session (see BuildSession): open one per build, pass it in every RunContext, close it at the end. */
  openSession(): BuildSession;
  /** The snapshot chain from the bottom layer to `id` itself. */
  chain(id: string): string[];
  /** Whether a committed snapshot with this id exists (its files are on disk). */
  exists(id: string): boolean;
  /**
   * Unpacks layers (bottom first; a blob of each in the content store) into a snapshot chain and
   * returns its top snapshot (undefined for no layers). Snapshots are named by chainID, so layers
   * unpacked before (from an image or a cache entry) are reused. Idempotent.
   * Errors: BLOB_NOT_FOUND when a layer has no blob in the store, DIGEST_MISMATCH when a blob does
   * not unpack to its diffId, IMAGE_INVALID for a blob that does not decompress.
   */
  unpackLayers(layers: readonly LayerRecord[], ctx: RunContext): Promise<string | undefined>;
  /**
   * The layers of the chain from the bottom to snapshot `id` as blobs recorded for each diff and
   * still in the content store, whether or not the snapshots themselves still exist; undefined when
   * a layer has none. A cache entry whose snapshots were removed is unpacked again from these.
   */
  storedLayers(id: string): LayerRecord[] | undefined;
  /**
   * The layer blob of one snapshot's own diff: computed and stored once per compression and level,
   * then reused. `reuse` says when a stored blob of another compression will do (see LayerReuse);
   * the default asks for exactly `compression` (default gzip) at `level` (default: the codec's).
   * `keepUncompressed`: a blob made from the snapshot also stores its uncompressed tar, in the same pass.
   * `clampTimes`: the layer with file times later than this epoch (seconds) set to it, another diff
   * (SOURCE_DATE_EPOCH, worker/layer/clamped-layer.ts).
   */
  layer(id: string, opts?: { compression?: 'gzip' | 'uncompressed' | 'zstd'; level?: number; reuse?: LayerReuse; signal?: AbortSignal; keepUncompressed?: boolean; clampTimes?: number }): Promise<LayerBlob>;
  /**
   * `layer` for the diff whose recorded blob is `digest` (a layer of a stored image), whether or not
   * its snapshot still exists (a stored blob of the diff is the source); undefined when no snapshot
   * recorded that blob (an image imported whole from an OCI layout). `tap`: called with a copy of
   * the blob's bytes as they are made, when it is made now (not when it was stored already).
   */
  layerOfBlob(digest: string, opts?: { compression?: 'gzip' | 'uncompressed' | 'zstd'; level?: number; reuse?: LayerReuse; signal?: AbortSignal; tap?: (blob: Readable) => void }): Promise<LayerBlob | undefined>;
  readonly platform: Platform;
  /**
   * A hint that steps in the `sandbox` network will run: a namespace is set up in the background
   * now, so the first such step does not wait for it. Idempotent; costs nothing when never called.
   * `count`: how many such steps start at once (default 1), each of which gets its own.
   */
  warmNetwork(count?: number): void;
  /**
   * A hint that this build runs no more `sandbox` steps: idle namespaces are destroyed in the
   * background now rather than at close (none while another build uses one). Optional.
   */
  coolNetwork?(): void;
  /**
   * The snapshotter in use, and a notice for the user when it is not overlay (with why). Settles
   * once a new root's overlay probe has answered (at once on a root that probed before).
   */
  readonly snapshotter: Promise<{ name: 'overlay' | 'copy'; notice?: string }>;
  /**
   * Writes the whole filesystem of `id` (undefined: empty) as files under a directory, or as one tar.
   * A directory gets no device nodes (named in `skippedDevices`) and no setuid/setgid bits.
   */
  exportRootfs(id: string | undefined, sink: { type: 'dir'; dest: string } | { type: 'tar'; stream: Writable }, opts?: { signal?: AbortSignal }): Promise<{ skippedDevices: string[] }>;
  /** Committed snapshots, their layer blob rows and their removal, for du and prune (worker/storage.ts). */
  readonly storage: WorkerStorage;
  close(): Promise<void>;
}
