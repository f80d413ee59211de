// A snapshot's whole filesystem as files (`--output type=local`) or as one tar (`type=tar`):
// the chain is mounted read-only-in-effect (a throwaway overlay view), walked once, released.
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extractLayer } from './layer/extract.ts';
import { createLayerTar } from './layer/layer-tar.ts';
import { withMounts } from './snapshot/mount.ts';
import type { WorkerEnv } from './worker-env.ts';

export type RootfsSink = { type: 'dir'; dest: string } | { type: 'tar'; stream: Writable };

export async function exportRootfs(env: WorkerEnv, id: string | undefined, sink: RootfsSink): Promise<void> {
  const view = await env.snapshots.view(id);
  const target = await mkdtemp(join(env.paths.tmp, 'rootfs-'));
  try {
    await withMounts(view.mounts, target, async (dir) => {
      const tar = createLayerTar(dir);
      if (sink.type === 'tar') await pipeline(tar, sink.stream);
      else {
        mkdirSync(sink.dest, { recursive: true });
        // through the same safe extraction as layers: nothing lands outside dest, whatever the image holds
        await extractLayer(Readable.from(tar), sink.dest, { whiteouts: false });
      }
    });
  } finally {
    await view.release();
    await rm(target, { recursive: true, force: true });
  }
}
