// RUN --mount=type=cache directories: one persistent directory per id under the state root
// (`cache-mounts/<sha256(id)>`), never part of a layer. Sharing, as BuildKit:
//   shared  — every concurrent exec uses the same directory;
//   locked  — execs using the id run one at a time (the next waits for release);
//   private — an exec finding the id in use gets a fresh directory of its own (thrown away after;
//             BuildKit keeps it as a further instance, a refinement left for later).
// The lock and use counts live in this worker process only; two tsbuild processes sharing a root
// share `shared` caches without coordination, as two BuildKit workers would not share them at all.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheMount } from '../../src/llb/index.ts';

export interface CacheLease {
  dir: string;
  /** True when the directory was just made (a `from` source then seeds it). */
  created: boolean;
  release(): Promise<void>;
}

export interface CacheMounts {
  acquire(m: CacheMount): Promise<CacheLease>;
}

/** Where the cache mount `id` of a state root lives (a remote cache export reads it, an import fills it). */
export function cacheMountDir(stateRoot: string, id: string): string {
  return join(stateRoot, 'cache-mounts', createHash('sha256').update(id).digest('hex'));
}

export function createCacheMounts(stateRoot: string): CacheMounts {
  const base = join(stateRoot, 'cache-mounts');
  const users = new Map<string, number>();
  const locks = new Map<string, Promise<void>>();

  const ensure = async (dir: string, m: CacheMount): Promise<boolean> => {
    if (existsSync(dir)) return false;
    await mkdir(dir, { recursive: true });
    await chmod(dir, m.mode ?? 0o755);
    await chown(dir, m.uid ?? 0, m.gid ?? 0);
    return true;
  };

  return {
    async acquire(m) {
      const id = createHash('sha256').update(m.id).digest('hex');
      let unlock = () => {};
      if (m.sharing === 'locked') {
        const prev = locks.get(id) ?? Promise.resolve();
        const mine = new Promise<void>((resolve) => (unlock = resolve));
        const chained = prev.then(() => mine);
        locks.set(id, chained);
        await prev;
        const done = unlock;
        unlock = () => {
          done();
          if (locks.get(id) === chained) locks.delete(id);
        };
      }
      if (m.sharing === 'private' && (users.get(id) ?? 0) > 0) {
        const dir = join(base, `private-${id.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
        await ensure(dir, m);
        return { dir, created: true, release: () => rm(dir, { recursive: true, force: true }) };
      }
      const dir = join(base, id);
      // counted before the first await: a private acquire racing this one must see the id in use
      users.set(id, (users.get(id) ?? 0) + 1);
      let created: boolean;
      try {
        created = await ensure(dir, m);
      } catch (e) {
        users.set(id, users.get(id)! - 1);
        unlock();
        throw e;
      }
      let released = false;
      return {
        dir,
        created,
        async release() {
          if (released) return;
          released = true;
          users.set(id, users.get(id)! - 1);
          unlock();
        },
      };
    },
  };
}
