// Where the OCI runtime keeps a step's container state (its `--root`): a dir of the worker's own on
// /dev/shm, else `<root>/runc`.
//
// crun and runc make `<state>/<id>` for each container and remove it when the container is gone. On
// this machine's root filesystem (ext4 mounted with `discard`), removing a directory frees its block
// and waits for the disk's discard: crun's rmdir of its state dir took 0.1-30 ms, median 2.6 ms, at
// load average ~5, on every step's path (the step waits for crun to exit). On tmpfs it costs nothing.
//
// /dev/shm is shared by every user of the machine (sticky, world-writable), so the worker makes a
// new dir there with a random name (mkdir fails on a name that exists: nobody else's dir, link or
// file is ever used), mode 0700, and removes it at its close, after its containers are gone; nobody
// else can remove or replace it meanwhile (the sticky bit). Its name starts with the root's tag
// (`tsbuild-<tag>-`), so start-up recovery finds the dirs of killed workers of this root, and only
// those. No tmpfs at /dev/shm, or no dir made: `<root>/runc`, as before.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { rootTag } from '../../src/state/index.ts';

const tmpfsMagic = 0x01021994;
const shm = '/dev/shm';

/** The name prefix of every dir of `stateRoot` on /dev/shm. */
export function shmStatePrefix(stateRoot: string): string {
  return `tsbuild-${rootTag(stateRoot, 16)}-`;
}

export interface RuntimeStateDir {
  /** The `--root` for this worker's steps: its dir on /dev/shm (made on the first call), else `<root>/runc`. */
  path(): string;
  /** Removes the dir on /dev/shm, once the worker's containers are gone (its close). Never throws. */
  remove(): void;
}

export function createRuntimeStateDir(stateRoot: string): RuntimeStateDir {
  const fallback = join(stateRoot, 'runc');
  let made: string | undefined;
  let tried = false;
  return {
    path() {
      if (!tried) {
        tried = true;
        made = makeShmDir(shmStatePrefix(stateRoot));
      }
      return made ?? fallback;
    },
    remove() {
      if (made === undefined) return;
      try {
        rmdirSync(made);
      } catch {
        // a container the runtime could not delete: start-up recovery takes it and the dir
      }
      made = undefined;
      tried = false;
    },
  };
}

function makeShmDir(prefix: string): string | undefined {
  try {
    if (statfsSync(shm).type !== tmpfsMagic) return undefined;
  } catch {
    return undefined;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = join(shm, `${prefix}${randomBytes(8).toString('hex')}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
  }
  return undefined;
}

/**
 * Every place a container of `stateRoot` may have its state (for start-up recovery): the dirs on
 * /dev/shm named for the root that are real dirs of ours, and `<root>/runc`.
 */
export function runtimeStateDirs(stateRoot: string): string[] {
  const prefix = shmStatePrefix(stateRoot);
  let names: string[] = [];
  try {
    names = readdirSync(shm).filter((n) => n.startsWith(prefix));
  } catch {
    // no /dev/shm
  }
  return [...names.map((n) => join(shm, n)).filter(isOurDir), join(stateRoot, 'runc')];
}

/** Removes the empty dirs of `stateRoot` on /dev/shm (recovery, after deleting their containers). Never throws. */
export function removeShmStateDirs(stateRoot: string): void {
  for (const dir of runtimeStateDirs(stateRoot).slice(0, -1)) {
    try {
      rmdirSync(dir);
    } catch {
      // a container no runtime could delete: the next start tries again
    }
  }
}

function isOurDir(path: string): boolean {
  try {
    const s = lstatSync(path);
    return s.isDirectory() && s.uid === process.geteuid?.();
  } catch {
    return false;
  }
}
