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

export type OutputSpec =
  /** The local store, tagged with `names` (may be empty: the image is stored untagged). */
  | { type: 'image'; names: string[]; push: boolean }
  | { type: 'oci'; dest: string; tar: boolean; names: string[] }
  | { type: 'docker'; dest: string; names: string[] }
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string };

export interface ExportResult {
  /** The manifest digest. */
  digest: string;
  /** The config digest (what `docker images` shows as IMAGE ID). */
  imageId: string;
  names: string[];
}
