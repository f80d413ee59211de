// `--metadata-file`: what the build made, under buildx's keys, so scripts written for
// `docker buildx build --metadata-file` read it unchanged.
import { fullImageName } from './build-progress.ts';
import type { BuildResult } from './run-build.ts';

export interface BuildMetadata {
  /** The manifest digest: the registry's when the image was pushed. */
  'containerimage.digest': string;
  /** The config digest: the image id. */
  'containerimage.config.digest': string;
  /** Every name the image got, full as Docker writes them, comma-separated; absent for an untagged image. */
  'image.name'?: string;
}

export function buildMetadata(result: Pick<BuildResult, 'digest' | 'imageId' | 'exports'>): BuildMetadata {
  const names = [...new Set(result.exports.flatMap((x) => x.names).map(fullImageName))];
  return {
    'containerimage.config.digest': result.imageId,
    // pushed: the digest the registry has (the store keeps tar layers, so its own manifest differs)
    'containerimage.digest': result.exports.find((x) => x.pushed)?.digest ?? result.digest,
    ...(names.length > 0 && { 'image.name': names.join(',') }),
  };
}
