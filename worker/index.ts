// The worker: one vertex in, one result out, on snapshots (overlayfs, or copies where overlayfs
// cannot be mounted) and an OCI runtime.
//
//   const worker = await openWorker({ root, db, content });
//   const base = await worker.unpackImage(imageOp, ctx);
//   const id = await worker.exec(execOp, [{ type: 'snapshot', id: base }], ctx);
//   const layer = await worker.layer(id);   // { diffId, digest, size, mediaType, empty }
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '../src/content/index.ts';
import { statePaths, type Database } from '../src/state/index.ts';
import { createCacheMounts } from './exec/cache-mounts.ts';
import { execOp } from './exec/exec-op.ts';
import { exportRootfs } from './export-rootfs.ts';
import { probeRuntime } from './exec/runtime.ts';
import { fileOp } from './file/file-op.ts';
import { layerBlob } from './layer/layer-blob.ts';
import { unpackImage } from './layer/unpack-image.ts';
import { recoverRoot } from './recover.ts';
import { chooseSnapshotter, parseSnapshotterChoice, type SnapshotterChoice } from './snapshot/choose-snapshotter.ts';
import { createCopySnapshotter } from './snapshot/copy-snapshotter.ts';
import { createOverlaySnapshotter } from './snapshot/overlay-snapshotter.ts';
import { createSnapshotStore } from './snapshot/snapshot-store.ts';
import { createGitSources } from './source/git-source.ts';
import { createHttpSources } from './source/http-source.ts';
import type { Worker } from './types.ts';
import type { WorkerEnv } from './worker-env.ts';

export type { Worker, InputRef, LayerInfo, RunContext } from './types.ts';
export type { RootfsSink } from './export-rootfs.ts';
export type { SnapshotterChoice } from './snapshot/choose-snapshotter.ts';

export interface WorkerOptions {
  /** The state root (see src/state statePaths). */
  root: string;
  db: Database;
  content: ContentStore;
  /** OCI runtime binary; default: crun where the cgroup layout allows it, else runc. */
  runtime?: string;
  /** Default: TSBUILD_SNAPSHOTTER, else `auto` (overlay where it can be mounted, else copying). */
  snapshotter?: SnapshotterChoice;
}

export async function openWorker(opts: WorkerOptions): Promise<Worker> {
  const paths = statePaths(opts.root);
  for (const dir of [paths.snapshots, paths.tmp]) mkdirSync(dir, { recursive: true });
  // what a killed tsbuild left (mounts, containers, active snapshots) goes before we add our own
  const claim = await recoverRoot({ paths, db: opts.db, runtime: opts.runtime });
  let runtime: Promise<string> | undefined;
  const chosen = await chooseSnapshotter(opts.snapshotter ?? parseSnapshotterChoice(process.env.TSBUILD_SNAPSHOTTER, 'TSBUILD_SNAPSHOTTER'), { tmpDir: paths.tmp, cacheFile: join(paths.root, 'snapshotter-probe.json') });
  const snapshotStore = createSnapshotStore({ snapshotsDir: paths.snapshots, db: opts.db });
  const createSnapshotter = chosen.name === 'copy' ? createCopySnapshotter : createOverlaySnapshotter;
  const env: WorkerEnv = {
    paths,
    db: opts.db,
    content: opts.content,
    snapshots: createSnapshotter({ store: snapshotStore, tmpDir: paths.tmp }),
    snapshotStore,
    cacheMounts: createCacheMounts(opts.root),
    // probed on first exec, so a worker that only copies files never needs a runtime
    runtime: () => (runtime ??= probeRuntime(opts.runtime)),
  };
  const http = createHttpSources(env);
  const gitSources = createGitSources(env);
  return {
    platform: { os: 'linux', architecture: goArch(process.arch) },
    snapshotter: chosen,
    unpackImage: (op, ctx) => unpackImage(env, op, ctx),
    exec: (op, inputs, ctx) => execOp(env, op, inputs, ctx),
    file: (op, inputs, ctx) => fileOp(env, op, inputs, ctx),
    http: (op, ctx) => http.snapshot(op, ctx),
    git: (op, ctx) => gitSources.snapshot(op, ctx),
    resolveSource: (op, signal) => (op.source === 'http' ? http.resolve(op, signal) : gitSources.resolve(op, signal)),
    chain: (id) => env.snapshots.chain(id),
    exists: (id) => env.snapshots.exists(id),
    layer: (id, o) => layerBlob(env, id, o?.compression),
    exportRootfs: (id, sink) => exportRootfs(env, id, sink),
    close: async () => {
      claim.release();
      await http.close();
    },
  };
}

function goArch(arch: string): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}
