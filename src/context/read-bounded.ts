// Reading a small file that an image, a snapshot or a build context supplies, on the host side:
// /etc/passwd and /etc/group for USER and --chown, .dockerignore, an OCI layout's index.json.
// Such a file is untrusted. A FIFO would block the read forever, a character device (/dev/zero
// as 1:5) would feed it until the process runs out of memory, a symlink could name a host file.
// So: resolve the path inside its root, refuse anything but a regular file *before* opening it
// (opening a device can have effects of its own), open it with O_NOFOLLOW|O_NONBLOCK, check with
// fstat that the descriptor is the regular file we looked at, and read at most `maxBytes` + 1.
import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { resolveInRoot } from './safe-path.ts';

export interface BoundedReadOptions {
  /** Refuse files larger than this. */
  maxBytes: number;
  /** How messages name the file: `/etc/passwd of the image`, `.dockerignore`. */
  what: string;
}

/** What a file is, in words for a message: `a FIFO`, `a character device (1:5)`. */
export function describeFileType(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  const dev = `${Math.floor(s.rdev / 256) & 0xfff}:${(s.rdev & 0xff) | ((s.rdev >>> 12) & ~0xff)}`;
  if (s.isCharacterDevice()) return `a character device (${dev})`;
  if (s.isBlockDevice()) return `a block device (${dev})`;
  return 'not a regular file';
}

function unreadable(what: string, why: string, hint?: string): TsbuildError {
  return new TsbuildError(`cannot read ${what}: ${why}`, { code: ErrorCodes.FILE_UNREADABLE, kind: 'invalid', hint });
}

/**
 * Opens `hostPath` for reading when it is a regular file, without following a final symlink and
 * without blocking; resolves undefined when nothing is there. Throws FILE_UNREADABLE naming what
 * it is otherwise. The caller closes the descriptor.
 */
export function openRegularFile(hostPath: string, what: string): { fd: number; stat: Stats } | undefined {
  let before: Stats;
  try {
    before = lstatSync(hostPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw unreadable(what, (e as Error).message);
  }
  if (!before.isFile()) throw unreadable(what, `it is ${describeFileType(before)}, not a regular file`);
  let fd: number;
  try {
    fd = openSync(hostPath, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (e) {
    throw unreadable(what, (e as NodeJS.ErrnoException).code === 'ELOOP' ? 'it became a symbolic link while being opened' : (e as Error).message);
  }
  const stat = fstatSync(fd);
  // swapped between lstat and open: whatever it is now, it is not what we checked
  if (!stat.isFile() || stat.dev !== before.dev || stat.ino !== before.ino) {
    closeSync(fd);
    throw unreadable(what, 'it was replaced while being opened');
  }
  return { fd, stat };
}

/** The bytes of a regular file at `hostPath` (see openRegularFile), or undefined when it does not exist. */
export function readRegularFile(hostPath: string, opts: BoundedReadOptions): Buffer | undefined {
  const opened = openRegularFile(hostPath, opts.what);
  if (!opened) return undefined;
  const { fd, stat } = opened;
  try {
    const tooLarge = () => unreadable(opts.what, `it is larger than ${opts.maxBytes} bytes`, 'a file this size here is a damaged or hostile input');
    if (stat.size > opts.maxBytes) throw tooLarge();
    // read to EOF, not to st_size: a file can grow after fstat (or a filesystem can misreport it)
    const chunks: Buffer[] = [];
    const chunk = Buffer.alloc(64 * 1024);
    let total = 0;
    for (let n = readSync(fd, chunk, 0, chunk.length, null); n > 0; n = readSync(fd, chunk, 0, chunk.length, null)) {
      total += n;
      if (total > opts.maxBytes) throw tooLarge();
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** `readRegularFile` of `path` resolved inside `root` (symlinks followed as the root sees them, never out of it). */
export function readFileInRoot(root: string, path: string, opts: BoundedReadOptions): Buffer | undefined {
  return readRegularFile(resolveInRoot(root, path), opts);
}
