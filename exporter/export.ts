// One entry point for every output type; each type lives in its own file under outputs/.
import type { Writable } from 'node:stream';
import type { ContentStore, ImageStore } from '../src/content/index.ts';
import type { Descriptor } from '../src/image/index.ts';
import { ErrorCodes, TsbuildError, invalid } from '../src/errors/index.ts';
import type { ExportResult, ImageView, LayerCompression, OutputSpec } from './types.ts';
import { exportToStore } from './outputs/image.ts';
import { exportOci } from './outputs/oci.ts';
import { exportDocker } from './outputs/docker.ts';
import { loadIntoDocker } from './outputs/docker-daemon.ts';
import { applyManifestOptions, topDescriptor } from './outputs/manifest-options.ts';
import { openStreamTarSink } from './sink.ts';
import type { Sink } from './sink.ts';
import { normalizeReference, parseReference, pushImage } from '../src/registry/index.ts';
import type { RegistryClient } from '../src/registry/index.ts';
import type { ProgressSink, VertexRef } from '../src/progress/index.ts';

export interface ExportDeps {
  content: ContentStore;
  images: ImageStore;
  /** Needed only for `type=image,push=true` (or give `push`); without either such an export fails with OUTPUT_FAILED. */
  registry?: RegistryClient;
  /** Overrides how a name is pushed (tests, mirrors); defaults to pushImage with `registry`. */
  push?: (view: ImageView, name: string, descriptor: Descriptor) => Promise<void>;
  /** Stops an export under way: its partial output is removed and the reason thrown. */
  signal?: AbortSignal;
  /** Where a push reports each blob it sends (under `vertex`). */
  progress?: ProgressSink;
  vertex?: VertexRef;
  /** Where `dest=-` writes (not ended: the caller owns it); without it such an output fails with OUTPUT_FAILED. */
  stdout?: Writable;
  /** Told each blob an output writes (a manifest with other media types or annotations, an index), so the build's lease holds it from GC. */
  hold?: (digest: string) => void;
  /** Names kept when a push fails. Any other name a failed push output tagged is put back as it was. */
  keepTags?: readonly string[];
  /**
   * The view with its layers in `compression`, for the outputs that leave the machine (oci, docker,
   * a push); made once per compression by the caller, which owns the layers. Without it such
   * outputs write the view's layers as they are.
   */
  compressed?: (compression: LayerCompression) => Promise<ImageView>;
}

function stdoutSink(deps: ExportDeps, type: string): Sink {
  if (!deps.stdout) throw invalid(ErrorCodes.OUTPUT_FAILED, `--output type=${type},dest=-: this build has no stdout to write to`, { hint: `name a file: dest=out.tar` });
  return openStreamTarSink(deps.stdout, 'stdout', deps.signal, { end: false });
}

/** What an output that leaves the machine uses when it names no compression: gzip, as docker buildx. */
export const defaultLayerCompression: LayerCompression = Object.freeze({ compression: 'gzip', force: false });

/**
 * Writes `view` as `output` says. Names are checked before anything is written, so a bad name
 * fails fast with REFERENCE_INVALID. File outputs appear at dest whole or not at all.
 */
export async function exportImage(base: ImageView, output: OutputSpec, deps: ExportDeps): Promise<ExportResult> {
  deps.signal?.throwIfAborted();
  const names = 'names' in output ? output.names : [];
  for (const name of names) parseReference(name);
  const view = output.type === 'local' || output.type === 'tar' ? base : await applyManifestOptions(base, output, deps.content);
  if (view !== base) deps.hold?.(view.manifestDescriptor.digest);
  const result: ExportResult = { digest: view.manifestDescriptor.digest, imageId: view.configDescriptor.digest, names: [...names] };
  // the view an output that leaves the machine writes: its layers compressed as it asks, then the
  // output's media types and annotations on top
  const leaving = async (compression: LayerCompression | undefined) => {
    const compressed = deps.compressed ? await deps.compressed(compression ?? defaultLayerCompression) : base;
    const out = compressed === base || output.type === 'local' || output.type === 'tar' ? view : await applyManifestOptions(compressed, output, deps.content);
    if (out !== compressed) deps.hold?.(out.manifestDescriptor.digest);
    result.digest = out.manifestDescriptor.digest;
    return out;
  };
  switch (output.type) {
    case 'image': {
      const top = await topDescriptor(view, output, deps.content);
      deps.hold?.(top.digest);
      result.digest = top.digest;
      // what each name pointed at before: a push that fails leaves no new tag behind
      const before = output.push ? names.filter((n) => !n.includes('@')).map((n) => [n, deps.images.resolve(n)] as const) : [];
      await exportToStore(view, output, deps, top);
      if (output.push) {
        const registry = deps.registry;
        const push = deps.push ?? (registry && ((_v: ImageView, name: string, descriptor: Descriptor) => pushImage({ client: registry, content: deps.content, ref: name, descriptor, signal: deps.signal, progress: deps.progress, vertex: deps.vertex }).then(() => {})));
        if (!push) throw new TsbuildError('cannot push: no registry client was given to the exporter', { code: ErrorCodes.OUTPUT_FAILED, kind: 'internal' });
        if (names.length === 0) throw invalid(ErrorCodes.OPTION_INVALID, 'cannot push an image without a name', { hint: 'add -t REGISTRY/NAME:TAG' });
        try {
          const remote = await leaving(output.compression);
          const remoteTop = remote === view ? top : await topDescriptor(remote, output, deps.content);
          deps.hold?.(remoteTop.digest);
          result.digest = remoteTop.digest;
          for (const name of names) {
            deps.signal?.throwIfAborted();
            await push(remote, name, remoteTop);
            // inspect's RepoDigests and images --digests give the registry's digest from now on
            deps.images.recordRepoDigest(name, remoteTop.digest, view.configDescriptor.digest);
          }
          result.pushed = true;
        } catch (e) {
          restoreTags(deps.images, before, deps.keepTags ?? []);
          throw e;
        }
      }
      return result;
    }
    case 'oci':
      await exportOci(await leaving(output.compression), output, deps.content, deps.signal, output.dest === '-' ? stdoutSink(deps, 'oci') : undefined);
      return result;
    case 'docker':
      if (output.dest === undefined) {
        await loadIntoDocker(await leaving(output.compression), output, deps.content, { signal: deps.signal });
        return result;
      }
      await exportDocker(await leaving(output.compression), { ...output, dest: output.dest }, deps.content, deps.signal, output.dest === '-' ? stdoutSink(deps, 'docker') : undefined);
      return result;
    case 'local':
    case 'tar':
      // these write the final filesystem, not the image: the solver exports them from the snapshot
      throw new TsbuildError(`type=${output.type} is exported from the build's snapshot, not from an image view`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'internal' });
    default: {
      const never: never = output;
      throw new TsbuildError(`unknown output type ${(never as { type: string }).type}`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'internal' });
    }
  }
}

/** Points each name back where it pointed before (or removes it), except the build's own tags. */
function restoreTags(images: ImageStore, before: readonly (readonly [string, Descriptor | undefined])[], keep: readonly string[]): void {
  const kept = new Set(keep.map(normalizeReference));
  for (const [name, prev] of before) {
    if (kept.has(normalizeReference(name))) continue;
    if (prev) images.tag(name, prev);
    else images.untag(name);
  }
}
