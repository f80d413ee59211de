// The worker: one vertex in, one result out, on snapshots (overlayfs, or copies where overlayfs
// cannot be mounted) and an OCI runtime. Each op kind is one module of ./ops (what its cache key
// reads, how it runs); `describeOp` gives the solver the first as data, `run` does the second.
//
//   const worker = await openWorker({ root, db, content });
//   const base = await worker.run(imageOp, [], ctx);
//   const id = await worker.run(execOp, [{ type: 'snapshot', id: base }], ctx);
//   const layer = await worker.layer(id);   // { diffId, digest, size, mediaType, empty }
import { createRuntimeStateDir } from './exec/runtime-state-dir.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '../src/content/index.ts';
import { statePaths, type Database } from '../src/state/index.ts';
import { createCacheMounts } from './exec/cache-mounts.ts';
import { exportRootfs } from './export-rootfs.ts';
import { probeRuntimes, type OciRuntimes } from './exec/runtime.ts';
import { layerBlob } from './layer/layer-blob.ts';
import { clampedLayerBlob } from './layer/clamped-layer.ts';
import { unpackImage, unpackLayers } from './layer/unpack-image.ts';
import { storedLayers } from './layer/stored-layer.ts';
import { recoverRoot } from './recover.ts';
import { pruneStepLogs } from './exec/step-log.ts';
import { createNetworkPool } from './net/network-pool.ts';
import { netnsPrefix } from './net/netns.ts';
import { chooseNetworkProvider, parseNetworkProvider, sandboxFactory, type NetworkProvider } from './net/provider.ts';
import { chooseSnapshotter, parseSnapshotterChoice, type SnapshotterChoice } from './snapshot/choose-snapshotter.ts';
import { createCopySnapshotter } from './snapshot/copy-snapshotter.ts';
import { createOverlaySnapshotter } from './snapshot/overlay-snapshotter.ts';
import { createSnapshotStore } from './snapshot/snapshot-store.ts';
import { spreadSubdirs } from './snapshot/spread-snapshots.ts';
import { createPendingSnapshotter } from './snapshot/pending-snapshotter.ts';
import type { SnapshotterName } from './snapshot/snapshotter.ts';
import { createWorkerStorage } from './storage.ts';
import { openOpRunners } from './ops/table.ts';
import { inSession, openBuildSession } from './session.ts';
import type { Op } from '../src/llb/index.ts';
import type { BuildSession, InputRef, RunContext, RunResult, Worker } from './types.ts';
import type { WorkerEnv } from './worker-env.ts';
import { removalsSettled } from './snapshot/background-removal.ts';

export type { Worker, BuildSession, InputRef, LayerRecord, LayerReuse, RunContext, RunInputs, RunResult, SessionSlot } from './types.ts';
export type { RootfsSink } from './export-rootfs.ts';
export type { SnapshotLayerRows, StoredSnapshot, WorkerStorage } from './storage.ts';
export type { SnapshotterChoice } from './snapshot/choose-snapshotter.ts';
export { describeOp, opName, type OpDescription } from './ops/table.ts';
export { checkoutGitContext } from './source/git-source.ts';
export { cacheMountDir } from './exec/cache-mounts.ts';
export { extractLayer } from './layer/extract.ts';
// a stored image's layers in a push's compression, without opening the worker (tsbuild push)
export { openStoredLayers } from './layer/stored-layers.ts';
export type { ContextRef, KeyReads, LocalRead, OpName } from './ops/op-definition.ts';

export interface WorkerOptions {
  /** The state root (see src/state statePaths). */
  root: string;
  db: Database;
  content: ContentStore;
  /** OCI runtime binary; default: crun where the cgroup layout allows it, else runc. */
  runtime?: string;
  /** What configures `sandbox` namespaces; default $TSBUILD_SANDBOX_NETWORK, else slirp4netns when installed (pasta where names resolve over IPv6 only), else pasta (net/provider.ts). */
  networkProvider?: NetworkProvider;
  /** Default: TSBUILD_SNAPSHOTTER, else `auto` (overlay where it can be mounted, else copying). */
  snapshotter?: SnapshotterChoice;
}

export async function openWorker(opts: WorkerOptions): Promise<Worker> {
  const paths = statePaths(opts.root);
  for (const dir of [paths.snapshots, paths.tmp]) mkdirSync(dir, { recursive: true });
  // what a killed tsbuild left (mounts, containers, active snapshots) goes before we add our own
  const envProvider = process.env.TSBUILD_SANDBOX_NETWORK;
  const provider = chooseNetworkProvider(opts.networkProvider ?? (envProvider ? parseNetworkProvider(envProvider) : undefined));
  const claim = await recoverRoot({ paths, db: opts.db, runtime: opts.runtime });
  // beside the build rather than before it: with 1,000 logs the stats take a few ms
  const pruned = pruneStepLogs(paths.logs);
  let runtime: Promise<OciRuntimes> | undefined;
  const snapshotStore = createSnapshotStore({ snapshotsDir: paths.snapshots, db: opts.db });
  // a new root: ext4 spreads its snapshots over the block groups (snapshot/spread-snapshots.ts); not waited for
  const spreading = snapshotStore.meta.isEmpty() ? spreadSubdirs(paths.snapshots) : undefined;
  const choice = opts.snapshotter ?? parseSnapshotterChoice(process.env.TSBUILD_SNAPSHOTTER, 'TSBUILD_SNAPSHOTTER');
  // a new root's overlay probe runs beside the build's first work, not before it (snapshot/pending-snapshotter.ts)
  const chosen = chooseSnapshotter(choice, { tmpDir: paths.tmp, cacheFile: join(paths.root, 'snapshotter-probe.json') });
  chosen.catch(() => undefined);
  const createSnapshotter = (name: SnapshotterName) => (name === 'copy' ? createCopySnapshotter : createOverlaySnapshotter)({ store: snapshotStore, tmpDir: paths.tmp });
  const env: WorkerEnv = {
    paths,
    db: opts.db,
    content: opts.content,
    snapshots: createPendingSnapshotter(chosen, createSnapshotter, snapshotStore),
    snapshotStore,
    cacheMounts: createCacheMounts(opts.root),
    network: createNetworkPool({ prefix: netnsPrefix(opts.root), tmpDir: paths.tmp, create: sandboxFactory(provider, paths.tmp) }),
    // probed on first exec, so a worker that only copies files never needs a runtime
    runtime: () => (runtime ??= probeRuntimes(opts.runtime)),
    runtimeState: createRuntimeStateDir(opts.root),
  };
  const ops = openOpRunners(env);
  // a session its build forgot to close still has its downloads removed when the worker closes
  const sessions = new Set<BuildSession>();
  const openSession = () => {
    const session = openBuildSession(ops.resolve, (s) => sessions.delete(s));
    sessions.add(session);
    return session;
  };
  return {
    platform: { os: 'linux', architecture: goArch(process.arch) },
    warmNetwork: (count) => env.network.warm(count),
    coolNetwork: () => env.network.drain(),
    snapshotter: chosen,
    run: <O extends Op>(op: O, inputs: readonly InputRef[], ctx: RunContext) => {
      // each kind's runner returns its own RunResult; the table cannot show TypeScript which one
      return inSession(ctx.session, openSession, (session) => ops.run(op, inputs, { ...ctx, session })) as Promise<RunResult<O>>;
    },
    openSession,
    chain: (id) => env.snapshots.chain(id),
    exists: (id) => env.snapshots.exists(id),
    layer: (id, o) => o?.clampTimes === undefined
      ? layerBlob(env, id, { compression: o?.compression ?? 'gzip', level: o?.level, reuse: o?.reuse ?? 'exact', keepUncompressed: o?.keepUncompressed }, o?.signal)
      : clampedLayerBlob(env, id, { compression: o.compression ?? 'gzip', level: o.level, reuse: o.reuse ?? 'exact' }, o.clampTimes, o.signal),
    layerOfBlob: async (digest, o) => {
      const id = env.snapshotStore.meta.snapshotOf(digest);
      return id === undefined ? undefined : layerBlob(env, id, { compression: o?.compression ?? 'gzip', level: o?.level, reuse: o?.reuse ?? 'exact', tap: o?.tap }, o?.signal);
    },
    unpackLayers: (layers, ctx) => unpackLayers(env, layers, ctx),
    storedLayers: (id) => storedLayers(env, id),
    exportRootfs: (id, sink, o) => exportRootfs(env, id, sink, o?.signal),
    storage: createWorkerStorage(env),
    close: async () => {
      await pruned;
      await spreading;
      await chosen.catch(() => undefined);
      await env.network.close();
      await Promise.all([...sessions].map((s) => s.close()));
      claim.release();
      await ops.close();
      await removalsSettled();
      env.runtimeState?.remove();
    },
  };
}

function goArch(arch: string): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}
