// The file op: its actions applied in order to a new snapshot on the base input.
//
// The new snapshot's upper dir is written through an overlay mount of the base chain rather than
// directly: the kernel then does copy-up, whiteouts and opaque dirs exactly as it does for exec, so
// one mechanism produces every layer diff, and paths resolve against the merged view (an image's
// `/etc -> /x` link is followed inside the root, as the copy must see it).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { assertNever, type FileOp } from '../../src/llb/index.ts';
import { snapshotInput } from '../snapshot-input.ts';
import { mountAt, unmount, type Mount } from '../snapshot/mount.ts';
import { newSnapshotKey } from '../snapshot/snapshotter.ts';
import { withActiveSnapshot } from '../snapshot/with-active-snapshot.ts';
import { removeLater } from '../snapshot/background-removal.ts';
import type { InputRef, RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { mkdirAction, mkfileAction, rmAction } from './actions.ts';
import { copyAction, type CopySource } from './copy.ts';
import { copyManifestName, openCopyReuse, type CopyReusePlan } from './copy-reuse.ts';
import { runtimesRunning } from '../running-runtimes.ts';

export async function fileOp(env: WorkerEnv, op: FileOp, inputs: readonly InputRef[], ctx: RunContext): Promise<string> {
  const parent = snapshotInput(inputs, op.base);
  return withActiveSnapshot(env.snapshots, parent, (key, mounts) => applyActions(env, op, inputs, ctx, { key, mounts }), { signal: ctx.signal });
}

/** Applies the actions to the active snapshot `key` (mounted from `mounts`), leaving it unmounted and ready to commit. */
async function applyActions(env: WorkerEnv, op: FileOp, inputs: readonly InputRef[], ctx: RunContext, snap: { key: string; mounts: Mount[] }): Promise<void> {
  const { key, mounts } = snap;
  const work = join(env.paths.tmp, `file-${key}`);
  const rootfs = join(work, 'rootfs');
  const cleanups: (() => Promise<void>)[] = [];
  const reuse = copyReuse(env, op, inputs, ctx, key, rootfs);
  try {
    // on the main thread (two small dirs): not a round trip through libuv's threads, where it waits
    // behind the background removals of the steps before (docs/runtime.md, stop 20)
    mkdirSync(rootfs, { recursive: true });
    // the target and every source snapshot mounted at once: the helper takes the mounts from one
    // read of its pipe instead of one round trip each, in a chain of COPY steps (parallel-stages)
    const sources = new Map<number, Promise<CopySource>>();
    const sourceOf = (index: number): Promise<CopySource> => {
      let source = sources.get(index);
      if (!source) sources.set(index, (source = openSource(env, inputs, index, work, cleanups)));
      return source;
    };
    const mounting = [
      mountAt(mounts[0], rootfs).then(() => void cleanups.push(() => unmount(rootfs, { inChild: runtimesRunning() > 0 }))),
      ...op.actions.flatMap((a) => (a.action === 'copy' && inputs[a.from]?.type !== 'local' ? [sourceOf(a.from)] : [])),
    ];
    // every mount settled before any error leaves: the cleanups below must see each one that was made
    const failed = (await Promise.allSettled(mounting)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;

    for (const action of op.actions) {
      if (ctx.signal.aborted) throw new TsbuildError('the file operation was cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
      switch (action.action) {
        case 'copy':
          await copyAction(rootfs, action, await sourceOf(action.from), action === op.actions.at(-1) ? reuse : undefined);
          break;
        case 'mkdir':
          mkdirAction(rootfs, action);
          break;
        case 'mkfile':
          mkfileAction(rootfs, action);
          break;
        case 'rm':
          rmAction(rootfs, action);
          break;
        default:
          assertNever(action);
      }
    }
  } finally {
    // at once, as the mounts: each cleanup is one mount's own (unmount, then its view's removal)
    const failed = (await Promise.allSettled(cleanups.map((c) => c()))).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // in the background: freeing blocks can wait on the disk (../snapshot/background-removal.ts)
    removeLater(work);
  }
  // unmounted now: the deferred files go straight into the upper dir
  reuse?.finish();
}

/**
 * Input `index` as a copy's source: the build context as it is, or a snapshot mounted read-only in
 * `work`. Pushes onto `cleanups` one function that unmounts and removes the view (when one was made).
 */
async function openSource(env: WorkerEnv, inputs: readonly InputRef[], index: number, work: string, cleanups: (() => Promise<void>)[]): Promise<CopySource> {
  const input = inputs[index];
  if (!input) throw new TsbuildError(`copy refers to input ${index}, but only ${inputs.length} exist`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  if (input.type === 'local') return { root: input.dir, excludePatterns: input.excludePatterns, name: 'the build context', keepOwners: false };
  const viewKey = newSnapshotKey();
  const dir = join(work, `src-${index}`);
  let mounted = false;
  cleanups.push(async () => {
    if (mounted) await unmount(dir);
    await env.snapshots.remove(viewKey);
  });
  const view = await env.snapshots.view(viewKey, input.id, { readonly: true });
  mkdirSync(dir);
  await mountAt(view[0], dir);
  mounted = true;
  return { root: dir, excludePatterns: [], name: 'the source', keepOwners: true };
}

/**
 * The reuse plan of the op's last action when it copies from a build context on the overlay
 * snapshotter (./copy-reuse.ts): every result of one gets a manifest, and the last build of the
 * step (`ctx.previous`) lends it the files that are the same. Nothing after the last action can
 * write through a link. ADD's archives are unpacked, not copied: no plan.
 */
function copyReuse(env: WorkerEnv, op: FileOp, inputs: readonly InputRef[], ctx: RunContext, key: string, rootfs: string): CopyReusePlan | undefined {
  const last = op.actions.at(-1);
  if (last?.action !== 'copy' || last.extractArchives || inputs[last.from]?.type !== 'local') return undefined;
  const active = env.snapshots.activeDir(key);
  if (env.snapshots.name !== 'overlay' || active.form !== 'diff') return undefined;
  const prev = ctx.previous !== undefined && env.snapshots.exists(ctx.previous) ? ctx.previous : undefined;
  return openCopyReuse({
    rootfs,
    upper: active.dir,
    manifest: join(env.snapshotStore.dir(key), copyManifestName),
    ...(prev !== undefined && { previous: { id: prev, fs: env.snapshotStore.diffDir(prev), manifest: join(env.snapshotStore.dir(prev), copyManifestName) } }),
  });
}
