// `tsbuild push` on a state root. A push reads a stored image's manifest, config and layer blobs
// and nothing else of the root, so it opens the database, the content store and the image store
// only: opening the engine also opened the worker (crash recovery, step-log pruning, the network
// pool) and loaded the solver, the worker and the exporter, ~15 ms of a push the target wants
// under 0.2 s (issue 10). A build's `--push` still goes through the engine and the exporter.
//
// Alongside another tsbuild on the same root this is safe as reading an image is: it writes no
// blob and holds no snapshot, so no recovery has anything of it to clean up, and the tag holds the
// image's blobs from GC as it does for `tsbuild save`.
import { openContentStore, openImageStore } from '../src/content/index.ts';
import { openDatabase, statePaths } from '../src/state/index.ts';
import { pushStoredImage, type PushResult, type TransferOptions } from './transfer-image.ts';

export async function pushFromRoot(root: string, name: string, opts: TransferOptions = {}): Promise<PushResult> {
  const paths = statePaths(root);
  const db = openDatabase(paths.db);
  try {
    const content = openContentStore(paths.content);
    return await pushStoredImage({ content, images: openImageStore({ content, db }) }, name, opts);
  } finally {
    db.close();
  }
}
