// The layer blobs an image op is about to unpack, fetched from the image's registry when the
// content store does not hold them (conversion stored only the manifest and config:
// control/resolve-image.ts). Only layers whose snapshot is missing are fetched: an image whose
// stack is already unpacked, or whose blobs came from the local store, reaches no registry.
// Transfers run in parallel within the registry client's bound, stop with the build's signal, and
// report their bytes as progress of the image's vertex.
import { parseConfig, parseManifest, type Descriptor } from '../../src/image/index.ts';
import type { ImageSource } from '../../src/llb/index.ts';
import { MaxImageLayers } from '../../src/image/index.ts';
import { chainIds } from '../layer/unpack-image.ts';
import type { RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';

export async function fetchMissingLayers(env: WorkerEnv, op: ImageSource, ctx: RunContext): Promise<void> {
  const missing = await missingLayers(env, op);
  if (missing.length === 0) return;
  // imported here: a build whose images are all local never loads the HTTP client
  const { blobProgressReporter, createRegistryClient, parseReference } = await import('../../src/registry/index.ts');
  const client = createRegistryClient({ insecureRegistries: ctx.insecureRegistries ?? [], signal: ctx.signal, mirrors: ctx.registryMirrors });
  const ref = parseReference(op.ref);
  const report = blobProgressReporter(ctx.progress, ctx.vertex);
  // settled, not all: a failed blob must not leave the others writing after this has thrown
  const fetched = await Promise.allSettled(
    missing.map((desc) =>
      client.transfers.add(async () => {
        ctx.signal.throwIfAborted();
        await client.fetchBlob(ref, desc, env.content, (n) => report(desc.digest, n, desc.size));
        report(desc.digest, desc.size, desc.size, true);
      }),
    ),
  );
  const failed = fetched.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Layers of `op` whose snapshot does not exist and whose blob is not stored. A damaged manifest or config: none (unpacking says what is wrong). */
async function missingLayers(env: WorkerEnv, op: ImageSource): Promise<Descriptor[]> {
  let layers: Descriptor[];
  let chain: string[];
  try {
    const manifest = parseManifest(await env.content.readBytes(op.digest), { image: op.ref, digest: op.digest });
    const config = parseConfig(await env.content.readBytes(manifest.config.digest), { image: op.ref, digest: manifest.config.digest });
    layers = manifest.layers;
    chain = config.rootfs.diff_ids.every(isDigest) ? chainIds(config.rootfs.diff_ids) : [];
  } catch {
    return [];
  }
  // more layers than tsbuild takes: none is fetched, unpacking refuses the image (unpack-image.ts)
  if (layers.length > MaxImageLayers) return [];
  const out: Descriptor[] = [];
  for (const [i, layer] of layers.entries()) {
    const id = chain[i]?.slice('sha256:'.length);
    if (id !== undefined && env.snapshots.exists(id)) continue;
    // a digest that is no digest is left for unpacking to name; it never becomes a path here
    if (!isDigest(layer?.digest) || (await env.content.has(layer.digest))) continue;
    out.push(layer);
  }
  return out;
}

function isDigest(d: unknown): d is string {
  return typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d);
}
