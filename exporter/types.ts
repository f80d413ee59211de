// The exporter's contract: a read-only image view in, an artifact out.
import type { Descriptor, ImageConfig, ImageManifest } from '../src/image/index.ts';

export interface ImageLayer {
  diffId: string;
  /** Compressed blob descriptor; the blob is in the content store. */
  descriptor: Descriptor;
}

/** Everything an exporter needs; exporters never change it (with* helpers return a new view). */
export interface ImageView {
  config: ImageConfig;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  manifestDescriptor: Descriptor;
  layers: ImageLayer[];
}

/**
 * How an output that leaves the machine stores its layers (`compression=`, `compression-level=`,
 * `force-compression=`; buildx's keys). The local store keeps layers uncompressed whatever it says.
 */
export interface LayerCompression {
  compression: 'gzip' | 'zstd' | 'uncompressed';
  /** Undefined: the codec's default (gzip 4, zstd 3). */
  level?: number;
  /** Recompress layers that already have a compressed blob (a base image's) too. */
  force: boolean;
}

/** `annotation.KEY=VAL` and `annotation-manifest.KEY` (the manifest), `annotation-index.KEY` (the index), `annotation-manifest-descriptor.KEY` (the manifest's entry in an OCI layout's index.json). */
export interface OutputAnnotations {
  manifest: Record<string, string>;
  index: Record<string, string>;
  manifestDescriptor: Record<string, string>;
}

/** What every image output may change in the manifest it writes (exporter/outputs/manifest-options.ts). */
export interface ManifestOptions {
  /** false: Docker's media types (manifest v2 schema 2) instead of OCI's. Default true. */
  ociMediaTypes?: boolean;
  annotations?: OutputAnnotations;
  /** `rewrite-timestamp=`: false keeps layer file times as they are when SOURCE_DATE_EPOCH is set (control/created-times.ts clampsLayerTimes). */
  rewriteTimestamp?: boolean;
}

export type OutputSpec =
  /** The local store, tagged with `names` (may be empty: the image is stored untagged). */
  | ({ type: 'image'; names: string[]; push: boolean; compression?: LayerCompression } & ManifestOptions)
  /** `dest` `-`: the caller's stdout. */
  | ({ type: 'oci'; dest: string; tar: boolean; names: string[]; compression?: LayerCompression } & ManifestOptions)
  /** Without `dest`: loaded into the local Docker daemon (DOCKER_HOST or /var/run/docker.sock). `-`: stdout. */
  | ({ type: 'docker'; dest?: string; names: string[]; compression?: LayerCompression } & ManifestOptions)
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string };

export interface ExportResult {
  /** The manifest digest (for a push, of the manifest the registry got). */
  digest: string;
  /** The image went to its registry (type=image,push=true). */
  pushed?: boolean;
  /** The config digest (what `docker images` shows as IMAGE ID). */
  imageId: string;
  names: string[];
}
