// `tsbuild push` on a state root. A push reads a stored image's manifest, config and layer blobs,
// and makes the gzip blobs of layers stored uncompressed from those blobs, so it opens the
// database, the content and image stores and the leases only: opening the engine also opened the
// worker (crash recovery, step-log pruning, the network pool) and loaded the solver, the worker and
// the exporter, ~15 ms of a push the target wants under 0.2 s (issue 10). The worker's layer code
// is loaded only when a layer is stored uncompressed (worker/layer/stored-layers.ts: no snapshot
// is tarred, so no recovery or snapshotter is needed). A build's `--push` goes through the engine.
//
// Alongside another tsbuild on the same root this is safe as reading an image is: what it writes
// (gzip blobs, their rows) is written as a build writes it and held by a lease until the push is
// done; it mounts nothing and holds no snapshot, so no recovery has anything of it to clean up.
import { openContentStore, openImageStore } from '../src/content/index.ts';
import { leaveOpenAtExit, openDatabase, openLeases, statePaths } from '../src/state/index.ts';
import type { Worker } from '../worker/index.ts';
import { pushStoredImage, type PushResult, type TransferOptions } from './transfer-image.ts';

/**
 * `exiting`: the process exits right after (the CLI), so a database in which nothing lasting changed
 * (a re-push: only its lease's rows) is left to the exit, its WAL kept (src/state/db.ts leaveOpenAtExit).
 */
export async function pushFromRoot(root: string, name: string, opts: TransferOptions & { exiting?: boolean } = {}): Promise<PushResult> {
  const paths = statePaths(root);
  const db = openDatabase(paths.db);
  try {
    const content = openContentStore(paths.content);
    let layers: Promise<Pick<Worker, 'layerOfBlob'>> | undefined;
    const worker: Pick<Worker, 'layerOfBlob'> = {
      layerOfBlob: async (digest, o) => (await (layers ??= import('../worker/index.ts').then((w) => w.openStoredLayers({ root, db, content })))).layerOfBlob(digest, o),
    };
    return await pushStoredImage({ content, images: openImageStore({ content, db }), leases: openLeases(db), worker }, name, { insecureRegistries: opts.insecureRegistries, signal: opts.signal, progress: opts.progress });
  } finally {
    if (!(opts.exiting && leaveOpenAtExit(db))) db.close();
  }
}
