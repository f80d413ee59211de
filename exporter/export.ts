// One entry point for every output type; each type lives in its own file under outputs/.
import type { ContentStore, ImageStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, invalid } from '../src/errors/index.ts';
import type { ExportResult, ImageView, LayerCompression, OutputSpec } from './types.ts';
import { exportToStore } from './outputs/image.ts';
import { exportOci } from './outputs/oci.ts';
import { exportDocker } from './outputs/docker.ts';
import { parseReference, pushImage } from '../src/registry/index.ts';
import type { RegistryClient } from '../src/registry/index.ts';

export interface ExportDeps {
  content: ContentStore;
  images: ImageStore;
  /** Needed only for `type=image,push=true` (or give `push`); without either such an export fails with OUTPUT_FAILED. */
  registry?: RegistryClient;
  /** Overrides how a name is pushed (tests, mirrors); defaults to pushImage with `registry`. */
  push?: (view: ImageView, name: string) => Promise<void>;
  /** Stops an export under way: its partial output is removed and the reason thrown. */
  signal?: AbortSignal;
  /**
   * The view with its layers in `compression`, for the outputs that leave the machine (oci, docker,
   * a push); made once per compression by the caller, which owns the layers. Without it such
   * outputs write the view's layers as they are.
   */
  compressed?: (compression: LayerCompression) => Promise<ImageView>;
}

/** What an output that leaves the machine uses when it names no compression: gzip, as docker buildx. */
export const defaultLayerCompression: LayerCompression = Object.freeze({ compression: 'gzip', force: false });

/**
 * Writes `view` as `output` says. Names are checked before anything is written, so a bad name
 * fails fast with REFERENCE_INVALID. File outputs appear at dest whole or not at all.
 */
export async function exportImage(view: ImageView, output: OutputSpec, deps: ExportDeps): Promise<ExportResult> {
  deps.signal?.throwIfAborted();
  const names = 'names' in output ? output.names : [];
  for (const name of names) parseReference(name);
  const result: ExportResult = { digest: view.manifestDescriptor.digest, imageId: view.configDescriptor.digest, names: [...names] };
  // the view an output that leaves the machine writes: its layers compressed as it asks
  const leaving = async (compression: LayerCompression | undefined) => {
    const out = deps.compressed ? await deps.compressed(compression ?? defaultLayerCompression) : view;
    result.digest = out.manifestDescriptor.digest;
    return out;
  };
  switch (output.type) {
    case 'image':
      await exportToStore(view, output, deps);
      if (output.push) {
        const registry = deps.registry;
        const push = deps.push ?? (registry && ((v: ImageView, name: string) => pushImage({ client: registry, content: deps.content, ref: name, descriptor: v.manifestDescriptor, signal: deps.signal }).then(() => {})));
        if (!push) throw new TsbuildError('cannot push: no registry client was given to the exporter', { code: ErrorCodes.OUTPUT_FAILED, kind: 'internal' });
        if (names.length === 0) throw invalid(ErrorCodes.OPTION_INVALID, 'cannot push an image without a name', { hint: 'add -t REGISTRY/NAME:TAG' });
        const remote = await leaving(output.compression);
        for (const name of names) {
          deps.signal?.throwIfAborted();
          await push(remote, name);
        }
      }
      return result;
    case 'oci':
      await exportOci(await leaving(output.compression), output, deps.content, deps.signal);
      return result;
    case 'docker':
      await exportDocker(await leaving(output.compression), output, deps.content, deps.signal);
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
