// The frontend's contract: Dockerfile text in, an op DAG plus the image config out.
// It knows nothing of runc, mounts or snapshots; it talks to the rest only through src/llb.
import type { SourceLocation } from '../src/errors/index.ts';
import type { ImageConfig } from '../src/image/index.ts';
import type { NetworkMode, Platform, Vertex } from '../src/llb/index.ts';

export interface ResolvedImage {
  /** Normalised reference, e.g. `docker.io/library/busybox:latest` or `127.0.0.1:5000/base:1`. */
  ref: string;
  /** Digest of the single-platform image manifest. */
  digest: string;
  config: ImageConfig;
}

/** Looks up an image's manifest digest and config (local store first, then its registry). */
export type ImageResolver = (ref: string, platform: Platform) => Promise<ResolvedImage>;

/** A `--build-context name=...` value, already parsed by the CLI. */
export type NamedContext =
  | { type: 'local' } // a host directory; the solver knows where it is by name
  | { type: 'image'; ref: string }; // docker-image://ref or oci-layout:// (resolved through resolveImage)

export interface FrontendOptions {
  dockerfile: string;
  /** As the user named it, for messages: `Dockerfile`, `sub/Dockerfile.dev`. */
  dockerfilePath: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string;
  platform: Platform;
  /** --build-context entries, by name. */
  namedContexts: Readonly<Record<string, NamedContext>>;
  /** The main context's .dockerignore patterns, as read by the caller. */
  excludePatterns: readonly string[];
  resolveImage: ImageResolver;
  /** `--network`: the mode of every RUN without its own `--network` (default sandbox). */
  network?: NetworkMode;
  /** `--allow`: the privileges steps may ask for. */
  entitlements?: readonly Entitlement[];
  /** `--add-host name:ip` lines for every RUN's /etc/hosts. */
  extraHosts?: readonly string[];
}

/** BuildKit's entitlements: `RUN --network=host` needs network.host, `RUN --security=insecure` security.insecure. */
export type Entitlement = 'network.host' | 'security.insecure';

export interface BuildWarning {
  message: string;
  location?: SourceLocation;
}

export interface BuildDefinition {
  /** The target stage's final filesystem; undefined when it is an empty scratch stage. */
  root?: Vertex;
  /**
   * The image config the target stage carries: the base image's config with this build's
   * instructions applied, `history` holding the base's entries then one per instruction.
   * Each history entry without `empty_layer` matches one layer of root's snapshot chain, in order.
   * `rootfs.diff_ids` is left empty: the exporter fills it from the layers.
   */
  config: ImageConfig;
  /** Name of the target stage (or its index as a string). */
  target: string;
  warnings: BuildWarning[];
}
