// How FROM and COPY --from=image find an image: the local store first (by tag, or a digest whose
// manifest is stored), then the image's registry. With --pull a tag is always asked of its
// registry, as `docker build --pull` does: a tag that moved there gives the new digest (and so new
// keys for every step on it); the local tag is left as it is. A digest names its content, so one
// stored is used either way. Conversion needs only the manifest and config:
// the layer blobs are fetched by the image op when it unpacks them (worker/ops/image.ts), so a
// rebuild whose steps are all cached downloads no layer, and one pinned by digest needs no registry.
import { readImage, type ContentStore, type ImageStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../src/errors/index.ts';
import type { ImageConfig } from '../src/image/index.ts';
import type { Platform } from '../src/llb/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import type { ResolvedImage } from '../frontend/index.ts';
import { fullImageName, internalStep } from './build-progress.ts';
import { findImage, isImageId, lookupImage } from './find-image.ts';

export interface ImageResolverDeps {
  content: ContentStore;
  images: ImageStore;
  insecureRegistries: readonly string[];
  /** Origins tried before Docker Hub for docker.io images (registry-mirrors). */
  registryMirrors?: readonly string[];
  progress: ProgressSink;
  /** The build's cancellation: a pull under way stops with it. */
  signal?: AbortSignal;
  /** `--pull`: a tag is resolved by its registry even when the local store has it. */
  pull?: boolean;
}

export function createImageResolver(deps: ImageResolverDeps): (ref: string, platform: Platform) => Promise<ResolvedImage> {
  const seen = new Map<string, Promise<ResolvedImage>>();
  const resolveOnce = async (ref: string, platform: Platform): Promise<ResolvedImage> => {
    if (ref.startsWith('@sha256:')) {
      const image = await readImage(deps.content, ref.slice(1), platform, ref);
      return { ref, digest: image.digest, config: checkPlatform(ref, image.config, platform) };
    }
    // an image id as `tsbuild build` prints it and `tsbuild images` shows it (docker's FROM <id>)
    if (/^(?:sha256:)?[0-9a-f]+$/.test(ref)) {
      const stored = isImageId(ref) ? await findImage(deps, ref, platform) : deps.pull ? undefined : await lookupImage(deps, ref, platform);
      if (stored) return { ref, digest: stored.digest, config: checkPlatform(ref, stored.config, platform) };
    }
    const local = deps.pull ? undefined : deps.images.resolve(ref);
    if (local) {
      // shown as buildx shows every base image's lookup, though the local store answers it
      const image = await internalStep(deps.progress, { digest: `resolve:${ref}`, name: `[internal] load metadata for ${fullImageName(ref)}` }, () => readImage(deps.content, local.digest, platform, ref));
      return { ref, digest: image.digest, config: checkPlatform(ref, image.config, platform) };
    }
    // imported here: a build whose bases are all local never loads the HTTP client
    const { createRegistryClient, parseReference, formatReference, resolveImageConfig } = await import('../src/registry/index.ts');
    const pinned = parseReference(ref);
    // an index stored without this platform's manifest still needs the registry
    const stored = pinned.digest !== undefined && (await deps.content.has(pinned.digest)) ? await readImage(deps.content, pinned.digest, platform, ref).catch(() => undefined) : undefined;
    if (stored) return { ref: formatReference(pinned), digest: stored.digest, config: checkPlatform(ref, stored.config, platform) };
    const client = createRegistryClient({ insecureRegistries: [...deps.insecureRegistries], signal: deps.signal, mirrors: deps.registryMirrors });
    const name = `[internal] load metadata for ${fullImageName(ref)}`;
    const vertex = { digest: `resolve:${ref}`, name };
    deps.progress.emit({ type: 'vertex.started', vertex });
    try {
      const pulled = await resolveImageConfig({ client, content: deps.content, ref, platform });
      deps.progress.emit({ type: 'vertex.done', vertex });
      return { ref: pulled.ref, digest: pulled.digest, config: pulled.config };
    } catch (e) {
      deps.progress.emit({ type: 'vertex.error', vertex, message: e instanceof Error ? e.message : String(e) });
      // with --pull, an image the store has is worth naming whatever the registry said (not found, unreachable)
      if (isTsbuildError(e) && deps.pull && deps.images.resolve(ref)) {
        const useLocal = `"${ref}" is in the local store, and --pull asks its registry for every base image: build without --pull to use the local one`;
        // an unreachable registry has its own hint (is it running? the DNS?): both apply
        e.hint = e.hint === undefined ? useLocal : `${e.hint}; or: ${useLocal}`;
      } else if (isTsbuildError(e) && e.code === ErrorCodes.IMAGE_NOT_FOUND) {
        e.hint ??= `"${ref}" is neither in the local store (tsbuild images) nor in its registry`;
      }
      throw e;
    }
  };
  return (ref, platform) => {
    const k = `${ref}|${platform.os}/${platform.architecture}`;
    let p = seen.get(k);
    if (!p) {
      p = resolveOnce(ref, platform);
      seen.set(k, p);
    }
    return p;
  };
}

/** A stored single-platform image must be for the platform asked for; its files would not run otherwise. */
function checkPlatform(ref: string, config: ImageConfig, platform: Platform): ImageConfig {
  if (config.os === platform.os && config.architecture === platform.architecture) return config;
  const os = short(config.os);
  const arch = short(config.architecture);
  throw new TsbuildError(`image "${ref}" is for ${os}/${arch}, not ${platform.os}/${platform.architecture}`, {
    code: ErrorCodes.IMAGE_NOT_FOUND,
    kind: 'not-found',
    hint: `build for its platform (--platform ${os}/${arch}), or use an image for ${platform.os}/${platform.architecture}`,
  });
}

/** A platform part as a message shows it: a damaged config may hold anything there. */
function short(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
