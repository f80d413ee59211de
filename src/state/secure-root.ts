// The state root is root's alone. Snapshots hold whatever a build made, setuid-root binaries
// included (`RUN chmod 4755 …`), and the metadata database and blobs may hold anything a build
// copied in; a local user who can reach `<root>/snapshots/<id>/fs/usr/bin/x` can run it as root.
// BuildKit and containerd keep their roots 0700 for the same reason.
//
// The key is the top directory: at 0700 nothing below it is reachable by another user, whatever
// the modes inside (image content keeps its own modes, as it must). The known entries below it
// are tightened too, so a root whose top was loosened by hand is not wide open at once. Modes are
// set with chmod, never left to the umask, and roots made by older versions (0755 everywhere) are
// fixed every time one is opened.
import { chmodSync, closeSync, fstatSync, fchmodSync, lstatSync, mkdirSync, openSync, constants as fsc, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';

/** Directories tsbuild keeps under a state root (see root.ts for what each holds); the first four every build uses. */
export const StateDirs = ['content', 'snapshots', 'tmp', 'workers', 'runc', 'cache-mounts', 'logs'] as const;
const alwaysMade = 4;
/** Files tsbuild keeps directly under a state root: the SQLite database, its WAL and shared memory, the recovery lock. */
export const StateFiles = ['metadata.db', 'metadata.db-wal', 'metadata.db-shm', 'recover.lock'] as const;

const privateDir = 0o700;
const privateFile = 0o600;

/**
 * Creates `root` (0700; missing parents get the usual modes, they are not ours) or tightens an
 * existing one: the root and its known directories 0700, its database files 0600. Refuses a
 * directory other users share (mode 1777 like /tmp, `/`, the home directory): tsbuild would have
 * to take it away from them. Idempotent; safe with a concurrent tsbuild. Throws STATE_ERROR.
 */
export function secureStateRoot(root: string): void {
  const abs = resolve(root);
  try {
    secure(abs);
  } catch (e) {
    if (e instanceof TsbuildError) throw e;
    throw new TsbuildError(`state root ${abs} cannot be made private: ${(e as Error).message}`, { code: ErrorCodes.STATE_ERROR, kind: 'precondition', cause: e });
  }
}

function secure(abs: string): void {
  const refuse = (why: string) =>
    new TsbuildError(`state root ${abs}: ${why}`, {
      code: ErrorCodes.STATE_ERROR,
      kind: 'precondition',
      hint: 'give tsbuild a directory of its own with --root DIR (or TSBUILD_ROOT); tsbuild makes it readable by its owner only',
    });
  if (abs === '/' || abs === homedir()) throw refuse('is shared with other files: tsbuild makes its state root readable by its owner only');
  mkdirSync(dirname(abs), { recursive: true });
  try {
    mkdirSync(abs, { mode: privateDir });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const me = process.geteuid?.() ?? 0;
  // a link another user made (in /tmp, say) would have us fill and chmod whatever it points to
  const link = statQuiet(abs, false);
  if (link?.isSymbolicLink() && link.uid !== me && link.uid !== 0) throw refuse(`is a symbolic link owned by uid ${link.uid}, not by this user`);
  const top = statQuiet(abs, true);
  if (!top?.isDirectory()) throw refuse('is not a directory');
  // another user's directory: they could plant links in it for us to follow as root
  if (top.uid !== me) throw refuse(`is owned by uid ${top.uid}, not by this user (uid ${me})`);
  // /tmp and its like: anyone may create entries there, so it cannot be made private
  if ((top.mode & 0o1002) !== 0) throw refuse(`is a shared directory (mode ${(top.mode & 0o7777).toString(8)}) where other users may create files`);
  tighten(abs, top, privateDir);
  for (const [i, name] of StateDirs.entries()) {
    const path = join(abs, name);
    const s = statQuiet(path, false);
    if (s?.isSymbolicLink()) throw refuse(`${name} is a symbolic link: the state root's own directories must be real ones`);
    // snapshots/ gets ext4's TOPDIR from the worker on a new root (worker/snapshot/spread-snapshots.ts)
    if (s === undefined && i < alwaysMade) mkdirQuiet(path);
    else if (s?.isDirectory()) tighten(path, s, privateDir);
  }
  for (const name of StateFiles) {
    const path = join(abs, name);
    const s = statQuiet(path, false);
    if (s?.isSymbolicLink()) throw refuse(`${name} is a symbolic link: the state root's own files must be real ones`);
    if (s?.isFile()) tighten(path, s, privateFile);
  }
}

/** chmod when the mode differs. Entries below the root were lstat'ed: a symlink among them is not a directory or file, so never followed. */
function tighten(path: string, s: Stats, mode: number): void {
  if ((s.mode & 0o7777) === mode) return;
  try {
    chmodSync(path, mode);
  } catch (e) {
    // a concurrent tsbuild removed it between our lstat and chmod (recover.lock comes and goes)
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function statQuiet(path: string, follow: boolean): Stats | undefined {
  try {
    return follow ? fstatFollowing(path) : lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The root itself may be a symlink the user chose (`--root /data/tsbuild` → elsewhere): follow it. */
function fstatFollowing(path: string): Stats {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** True when this call made it. */
function mkdirQuiet(path: string): boolean {
  try {
    mkdirSync(path, { mode: privateDir });
    // the umask may have taken bits away (never added any): say the mode outright
    chmodSync(path, privateDir);
    return true;
  } catch (e) {
    // another tsbuild made it meanwhile: it makes it private too
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  }
}

/**
 * Creates `path` empty at 0600 unless it exists. Before SQLite opens a new database: an empty file
 * is a valid empty database, and SQLite gives the WAL and shm files the database's mode.
 */
export function createPrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, privateFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  try {
    fchmodSync(fd, privateFile);
  } finally {
    closeSync(fd);
  }
}
