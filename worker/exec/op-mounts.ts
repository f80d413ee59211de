// The exec op's extra mounts (bind, cache, tmpfs) as runtime mounts. A bind of another snapshot
// gets its own throwaway overlay view, so writes through a read-write bind never reach that snapshot.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { assertNever, type ExecMount } from '../../src/llb/index.ts';
import { resolveInRoot } from '../../src/context/index.ts';
import { mountAt, unmount } from '../snapshot/mount.ts';
import type { InputRef } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import type { SpecMount } from './spec.ts';

export interface OpMounts {
  specMounts: SpecMount[];
  /** Unmounts and removes every view made for the binds; safe to call after a failure. */
  release(): Promise<void>;
}

export async function prepareOpMounts(env: WorkerEnv, mounts: readonly ExecMount[], inputs: readonly InputRef[], bundle: string): Promise<OpMounts> {
  const specMounts: SpecMount[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const release = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  try {
    for (const [i, m] of mounts.entries()) {
      switch (m.type) {
        case 'root':
          break;
        case 'bind': {
          const source = await bindSource(env, m.input === undefined ? undefined : inputs[m.input], join(bundle, `mnt-${i}`), cleanups);
          specMounts.push({ destination: m.target, type: 'bind', source: resolveInRoot(source, m.source), options: ['rbind', m.readonly ? 'ro' : 'rw'] });
          break;
        }
        case 'cache': {
          const dir = join(env.paths.root, 'cache-mounts', createHash('sha256').update(m.id).digest('hex'));
          if (!existsSync(dir)) {
            await mkdir(dir, { recursive: true });
            await chmod(dir, m.mode ?? 0o755);
            await chown(dir, m.uid ?? 0, m.gid ?? 0);
          }
          // TODO(issue: cache mount sharing): 'locked' and 'private' behave as 'shared' for now
          specMounts.push({ destination: m.target, type: 'bind', source: dir, options: ['rbind', 'rw'] });
          break;
        }
        case 'tmpfs':
          specMounts.push({ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(m.size ? [`size=${m.size}`] : [])] });
          break;
        case 'secret':
        case 'ssh':
          throw new TsbuildError(`${m.type} mounts are not supported yet (target ${m.target})`, { code: ErrorCodes.OPTION_INVALID, kind: 'unavailable' });
        default:
          assertNever(m);
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { specMounts, release };
}

async function bindSource(env: WorkerEnv, input: InputRef | undefined, mountpoint: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  // TODO(issue: exec binds of local contexts): excludePatterns are not applied to a bound host dir
  if (input?.type === 'local') return input.dir;
  const view = await env.snapshots.view(input?.id);
  cleanups.push(view.release);
  await mkdir(mountpoint, { recursive: true });
  await mountAt(view.mounts[0], mountpoint);
  cleanups.push(() => unmount(mountpoint));
  return mountpoint;
}
