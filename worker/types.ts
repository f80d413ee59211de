// The worker's contract: one vertex in, one result out. It knows nothing of Dockerfiles,
// stages or instructions; it sees only ops from src/llb.
import type { ExecOp, FileOp, GitSource, HttpSource, ImageSource, Platform } from '../src/llb/index.ts';
import type { Writable } from 'node:stream';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';
import type { ResourceLimits } from '../src/limits/index.ts';
import type { Descriptor } from '../src/image/index.ts';

/** What an op reads as one of its inputs. */
export type InputRef =
  /** A committed snapshot chain; `id` undefined is the empty filesystem (scratch). */
  | { type: 'snapshot'; id: string | undefined }
  /** A host directory (a build context), filtered by .dockerignore-style patterns. */
  | { type: 'local'; dir: string; excludePatterns: readonly string[] };

export interface LayerInfo {
  /** sha256 of the uncompressed layer tar. */
  diffId: string;
  /** The compressed blob, stored in the content store. */
  digest: string;
  size: number;
  mediaType: string;
  /** True when the diff holds no change at all: exporters drop such layers. */
  empty: boolean;
}

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

export interface RunContext {
  vertex: VertexRef;
  progress: ProgressSink;
  signal: AbortSignal;
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
}

export interface Worker {
  /**
   * Makes the image's layers (whose blobs are already in the content store) available as a
   * snapshot chain and returns its top snapshot, or undefined for an image without layers.
   * Idempotent: layers unpacked before are reused.
   */
  unpackImage(op: ImageSource, ctx: RunContext): Promise<string | undefined>;
  /** Runs the command in a sandbox on top of `inputs[root.input]`; returns the new committed snapshot. */
  exec(op: ExecOp, inputs: readonly InputRef[], ctx: RunContext): Promise<string>;
  /**
   * Downloads the URL (once per worker life, shared with `resolveSource`) and returns a new
   * committed snapshot holding it as `/<filename>`. A checksum mismatch is DIGEST_MISMATCH.
   */
  http(op: HttpSource, ctx: RunContext): Promise<string>;
  /** Checks out the repository at `op.ref` into a new committed snapshot (without .git unless keepGitDir). */
  git(op: GitSource, ctx: RunContext): Promise<string>;
  /**
   * What a remote source holds now, for its cache key: the digest of an http body (downloading
   * it; `http` then reuses the download) or the commit a git ref names.
   */
  resolveSource(op: HttpSource | GitSource, signal?: AbortSignal): Promise<string>;
  /** Applies the actions on top of `inputs[op.base]`; returns the new committed snapshot. */
  file(op: FileOp, inputs: readonly InputRef[], ctx: RunContext): Promise<string>;
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
  /** The layer blob of one snapshot's own diff: computed and stored once, then reused. */
  layer(id: string, opts?: { compression?: 'gzip' | 'uncompressed' | 'zstd'; signal?: AbortSignal }): Promise<LayerInfo>;
  readonly platform: Platform;
  /**
   * A hint that steps in the `sandbox` network will run: a namespace is set up in the background
   * now, so the first such step does not wait for it. Idempotent; costs nothing when never called.
   */
  warmNetwork(): void;
  /** The snapshotter in use, and a notice for the user when it is not overlay (with why). */
  readonly snapshotter: { name: 'overlay' | 'copy'; notice?: string };
  /**
   * Writes the whole filesystem of `id` (undefined: empty) as files under a directory, or as one tar.
   * A directory gets no device nodes (named in `skippedDevices`) and no setuid/setgid bits.
   */
  exportRootfs(id: string | undefined, sink: { type: 'dir'; dest: string } | { type: 'tar'; stream: Writable }, opts?: { signal?: AbortSignal }): Promise<{ skippedDevices: string[] }>;
  close(): Promise<void>;
}
