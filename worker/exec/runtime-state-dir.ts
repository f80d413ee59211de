// Where the OCI runtime keeps a step's container state (its `--root`): a dir of this state root's
// own on /dev/shm, else `<root>/runc`.
//
// crun and runc make `<state>/<id>` for each container and remove it when the container is gone. On
// this machine's root filesystem (ext4 mounted with `discard`), removing a directory frees its block
// and waits for the disk's discard: crun's rmdir of its state dir took 0.1-30 ms, median 2.6 ms, at
// load average ~5, on every step's path (the step waits for crun to exit). On tmpfs it costs nothing.
//
// /dev/shm is shared by every user of the machine, so the dir is used only when it is ours: a real
// directory (not a link), owned by us, mode 0700, on tmpfs. Anything else (someone made the name
// first, no tmpfs there) leaves the state in `<root>/runc` as before. Its name is the root's tag, so
// two roots never share it and start-up recovery finds it without a listing; two processes on one
// root share it as they share `<root>/runc`. The worker's close removes it when empty.
import { lstatSync, mkdirSync, rmdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { rootTag } from '../../src/state/index.ts';

const tmpfsMagic = 0x01021994;
const shm = '/dev/shm';

/** The dir on /dev/shm for `stateRoot`'s containers (whether or not it is usable). */
export function shmStateDir(stateRoot: string): string {
  return join(shm, `tsbuild-${rootTag(stateRoot, 16)}`);
}

/** Both places a container of `stateRoot` may have its state (for recovery): the shm dir first. */
export function runtimeStateDirs(stateRoot: string): string[] {
  return [shmStateDir(stateRoot), join(stateRoot, 'runc')];
}

const usable = new Map<string, boolean>();

/** The `--root` for a step's runtime: the shm dir when it is ours (made now if missing), else `<root>/runc`. */
export function runtimeStateDir(stateRoot: string): string {
  const dir = shmStateDir(stateRoot);
  if (!usable.get(dir)) usable.set(dir, ours(dir));
  return usable.get(dir) ? dir : join(stateRoot, 'runc');
}

function ours(dir: string): boolean {
  try {
    if (statfsSync(shm).type !== tmpfsMagic) return false;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
    const s = lstatSync(dir);
    return s.isDirectory() && s.uid === process.geteuid?.() && (s.mode & 0o777) === 0o700;
  } catch {
    return false;
  }
}

/**
 * Removes the shm dir when it is empty (the last container gone); one still holding a container
 * (another process on the root) stays, and so does one that is not ours. The next step makes it
 * again (so does a runtime given it as `--root`). Also when this process ran no step there: a
 * runtime left running by a killed tsbuild makes the dir again as it ends, after recovery removed
 * it. Never throws.
 */
export function removeShmStateDir(stateRoot: string): void {
  const dir = shmStateDir(stateRoot);
  usable.delete(dir);
  try {
    const s = lstatSync(dir);
    if (s.isDirectory() && s.uid === process.geteuid?.()) rmdirSync(dir);
  } catch {
    // not empty (another process's container), or gone already
  }
}
