// Choosing one manifest from an index for a platform, as containerd's platform matcher does for
// the common cases: os and architecture must match; a requested variant must match, and an
// arm64 request without variant also takes `v8`.
import type { Platform } from '../llb/index.ts';
import type { Descriptor, ImageIndex } from '../image/index.ts';
import { ErrorCodes, notFound } from '../errors/index.ts';

export const DefaultPlatform: Platform = { os: 'linux', architecture: 'amd64' };

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function defaultVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === 'arm64') return 'v8';
  if (p.architecture === 'arm') return 'v7';
  return undefined;
}

export function platformMatches(want: Platform, have: Descriptor['platform']): boolean {
  if (!have) return false;
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  const w = defaultVariant(want);
  const h = defaultVariant(have);
  return w === undefined || h === undefined || w === h;
}

/**
 * The index entry for `platform`. Entries without a platform (attestations, unknown extras) are
 * never chosen. Throws IMAGE_NOT_FOUND naming the platforms the index offers.
 */
export function selectManifest(index: ImageIndex, platform: Platform, name: string): Descriptor {
  const found = index.manifests.find((d) => platformMatches(platform, d.platform));
  if (found) return found;
  const offered = index.manifests.filter((d) => d.platform && d.platform.os !== 'unknown').map((d) => formatPlatform(d.platform!));
  throw notFound(ErrorCodes.IMAGE_NOT_FOUND, `${name}: no image for platform ${formatPlatform(platform)}`, {
    hint: offered.length ? `the image offers ${offered.join(', ')}` : 'the image index lists no platforms',
  });
}
