// A snapshot's whole filesystem as files (`--output type=local`) or as one tar (`type=tar`):
// the chain is mounted read-only-in-effect (a throwaway overlay view), walked once, released.
// Files for a user's directory go through the layer extraction with the `user-dir` fidelity: no
// device nodes (they are counted for a warning) and no setuid/setgid bits reach the host.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeDirs } from '../src/fs/index.ts';
import { extractLayer, type ExtractResult } from './layer/extract.ts';
import { createLayerTar } from './layer/layer-tar.ts';
import { withMounts } from './snapshot/mount.ts';
import { withView } from './snapshot/with-active-snapshot.ts';
import type { WorkerEnv } from './worker-env.ts';

export type RootfsSink = { type: 'dir'; dest: string } | { type: 'tar'; stream: Writable };

/** What an export left out (a tar keeps everything, so only `dir` ever skips). */
export type RootfsExport = ExtractResult;

/** With `signal`, an abort stops the walk and the copy under way. */
export async function exportRootfs(env: WorkerEnv, id: string | undefined, sink: RootfsSink, signal?: AbortSignal): Promise<RootfsExport> {
  signal?.throwIfAborted();
  let result: RootfsExport = { skippedDevices: [] };
  const target = await mkdtemp(join(env.paths.tmp, 'rootfs-'));
  try {
    await withView(env.snapshots, id, { readonly: true }, (_key, mounts) => withMounts(mounts, target, async (dir) => {
      const tar = createLayerTar(dir);
      const onAbort = () => tar.destroy(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (sink.type === 'tar') await pipeline(tar, sink.stream, { signal });
        else {
          // not mkdirSync recursive: under /proc it loops forever, blocking even Ctrl-C (src/fs/make-dirs.ts)
          await makeDirs(sink.dest);
          // through the same safe extraction as layers: nothing lands outside dest, whatever the image holds
          result = await extractLayer(Readable.from(tar), sink.dest, { whiteouts: false, fidelity: 'user-dir' });
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      signal?.throwIfAborted();
    }));
  } finally {
    await rm(target, { recursive: true, force: true });
  }
  return result;
}
