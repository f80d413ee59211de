// The file op: its actions applied in order to a new snapshot on the base input.
//
// The new snapshot's upper dir is written through an overlay mount of the base chain rather than
// directly: the kernel then does copy-up, whiteouts and opaque dirs exactly as it does for exec, so
// one mechanism produces every layer diff, and paths resolve against the merged view (an image's
// `/etc -> /x` link is followed inside the root, as the copy must see it).
import { mkdir } from 'node:fs/promises';
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
    await mkdir(rootfs, { recursive: true });
    await mountAt(mounts[0], rootfs);
    cleanups.push(() => unmount(rootfs));
    const sources = new Map<number, CopySource>();
    const sourceOf = async (index: number): Promise<CopySource> => {
      const known = sources.get(index);
      if (known) return known;
      const input = inputs[index];
      if (!input) throw new TsbuildError(`copy refers to input ${index}, but only ${inputs.length} exist`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
      let source: CopySource;
      if (input.type === 'local') source = { root: input.dir, excludePatterns: input.excludePatterns, name: 'the build context', keepOwners: false };
      else {
        const viewKey = newSnapshotKey();
        const dir = join(work, `src-${index}`);
        cleanups.push(() => env.snapshots.remove(viewKey));
        const view = await env.snapshots.view(viewKey, input.id, { readonly: true });
        await mkdir(dir);
        await mountAt(view[0], dir);
        cleanups.push(() => unmount(dir));
        source = { root: dir, excludePatterns: [], name: 'the source', keepOwners: true };
      }
      sources.set(index, source);
      return source;
    };

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
    for (const c of cleanups.reverse()) await c();
    // in the background: freeing blocks can wait on the disk (../snapshot/background-removal.ts)
    removeLater(work);
  }
  // unmounted now: the deferred files go straight into the upper dir
  reuse?.finish();
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
    ...(prev !== undefined && { previous: { fs: env.snapshotStore.diffDir(prev), manifest: join(env.snapshotStore.dir(prev), copyManifestName) } }),
  });
}
