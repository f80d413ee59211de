// The OCI image-spec and Docker image types tsbuild reads and writes. Field names follow the
// specs exactly because they are serialised as they are.
import type { Platform } from '../llb/index.ts';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const;

/**
 * One layer as a stored blob: what a snapshot's diff was written as, what the worker hands out and
 * what an image view is made of. The blob (compressed or not) is in the content store.
 */
export interface LayerBlob {
  /** sha256 of the uncompressed layer tar. */
  diffId: string;
  /** The blob's digest: the diffId itself when the layer is stored uncompressed. */
  digest: string;
  size: number;
  mediaType: string;
  /** The diff holds no change at all: exporters drop the layer and mark its history entry `empty_layer`. */
  empty: boolean;
}

export const IndexMediaTypes: readonly string[] = [MediaTypes.ociIndex, MediaTypes.dockerManifestList];
export const ManifestMediaTypes: readonly string[] = [MediaTypes.ociManifest, MediaTypes.dockerManifest];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The runtime part of an image config (`config` in the OCI spec). Docker-only fields included. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  Shell?: string[];
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** The annotation OCI layouts use to name a manifest (what `skopeo inspect oci:DIR:NAME` matches). */
export const RefNameAnnotation = 'org.opencontainers.image.ref.name';
