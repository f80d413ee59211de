// Mounting and unmounting, from data. The snapshotter only describes mounts; this module performs
// them: overlay and tmpfs through mount(2) made by a small helper process (../syscall-helper.ts: no
// fork of Node per mount), anything else with util-linux's mount(8)/umount(8), which know every
// filesystem's option syntax.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { constants } from 'node:os';
import { promisify } from 'node:util';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { errnoText, LOST, MNT_DETACH, mountSyscall, umountInChildSyscall, umountSyscall } from '../syscall-helper.ts';

const run = promisify(execFile);
const { EINVAL, ENOENT } = constants.errno;

/** One mount as plain data, in mount(8) terms. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

// The kernel copies mount options into one page; longer option strings fail with a vague EINVAL.
const pageSize = 4096;
/** overlayfs's own limit (OVL_MAX_STACK): the deepest layer chain a step can run on. */
export const maxOverlayLowers = 500;

/**
 * Mounts `m` on `target`. An overlay whose options would not fit in one page (a deep layer chain)
 * is mounted through a dir of short symlinks, `0`..`n`, `u` and `w`, next to `target`, with mount(8)
 * run from that dir: overlayfs resolves relative lowerdirs against the caller's cwd and follows the
 * links once, at mount time (Docker's overlay2 driver mounts through short links the same way).
 */
export async function mountAt(m: Mount, target: string): Promise<void> {
  try {
    await mountOnce(m, target);
  } catch (e) {
    // overlayfs's volatile (Linux 5.10+) only spares a sync: a kernel without it mounts without
    if (!(m.type === 'overlay' && m.options.includes('volatile'))) throw e;
    await mountOnce({ ...m, options: m.options.filter((o) => o !== 'volatile') }, target);
  }
}

async function mountOnce(m: Mount, target: string): Promise<void> {
  let options = m.options.join(',');
  let links: string | undefined;
  try {
    const lowers = m.type === 'overlay' ? (m.options.find((o) => o.startsWith('lowerdir='))?.split(':').length ?? 0) : 0;
    // overlayfs's own limit (OVL_MAX_STACK): past it the kernel only says "wrong fs type"
    if (lowers > maxOverlayLowers) {
      throw new TsbuildError(`snapshot chain too deep to mount: ${lowers} layers, and overlayfs stacks at most ${maxOverlayLowers}`, {
        code: ErrorCodes.STATE_ERROR,
        kind: 'precondition',
        hint: 'squash the base image (Docker itself refuses more than 127 layers)',
      });
    }
    if (m.type === 'overlay' && options.length >= pageSize) {
      links = await mkdtemp(join(dirname(target), '.links-'));
      options = await shortOverlayOptions(m.options, links);
      if (options.length >= pageSize) {
        throw new TsbuildError(`snapshot chain too deep to mount: ${m.options.find((o) => o.startsWith('lowerdir='))!.split(':').length} layers exceed the kernel's ${pageSize}-byte mount option limit`, {
          code: ErrorCodes.STATE_ERROR,
          kind: 'precondition',
          hint: 'squash some layers of the base image',
        });
      }
    }
    let errno = await mountSyscall({ ...m, options: options ? options.split(',') : [] }, target, links);
    if (errno === LOST) {
      // the helper ended with the mount asked: it may be there. Off first (nothing else is mounted
      // on a fresh target), so mount(8) below leaves exactly one, which the caller unmounts once
      await run('umount', [target]).catch(() => undefined);
      errno = undefined;
    }
    if (errno !== undefined && errno !== 0) throw Object.assign(new Error(errnoText(errno)), { stderr: errnoText(errno) });
    if (errno === undefined) await run('mount', ['-t', m.type, m.source, target, ...(options ? ['-o', options] : [])], { cwd: links });
  } catch (e) {
    if (e instanceof TsbuildError) throw e;
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new TsbuildError(`mount ${m.type} on ${target} failed: ${stderr || (e as Error).message}`, { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', cause: e });
  } finally {
    if (links) await rm(links, { recursive: true, force: true });
  }
}

/**
 * Unmounts `target`, detaching lazily when it is busy so cleanup always makes progress. Missing
 * mounts are fine. `inChild`: by a child of the syscall helper, for an unmount that syncs (a
 * step's own overlay) while other steps may need the helper (../syscall-helper.ts).
 */
export async function unmount(target: string, opts: { inChild?: boolean } = {}): Promise<void> {
  const errno = await (opts.inChild ? umountInChildSyscall(target) : umountSyscall(target));
  // EINVAL: not a mount point; ENOENT: no such path
  if (errno === 0 || errno === EINVAL || errno === ENOENT) return;
  if (errno !== undefined) {
    await umountSyscall(target, MNT_DETACH);
    return;
  }
  try {
    await run('umount', [target]);
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '');
    if (/not mounted|no mount point|No such file/i.test(stderr)) return;
    await run('umount', ['-l', target]).catch(() => undefined);
  }
}

/** The overlay options with every dir replaced by a short symlink made in `links`. */
async function shortOverlayOptions(options: readonly string[], links: string): Promise<string> {
  const out: string[] = [];
  for (const o of options) {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq);
    if (key === 'lowerdir') {
      const dirs = o.slice(eq + 1).split(':');
      for (const [i, d] of dirs.entries()) await symlink(d, join(links, String(i)));
      out.push(`lowerdir=${dirs.map((_, i) => i).join(':')}`);
    } else if (key === 'upperdir' || key === 'workdir') {
      await symlink(o.slice(eq + 1), join(links, key[0]));
      out.push(`${key}=${key[0]}`);
    } else out.push(o);
  }
  return out.join(',');
}

/** Mounts `mounts` (stacked, in order) on `target`, runs `fn`, and always unmounts again. */
export async function withMounts<T>(mounts: readonly Mount[], target: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const done: Mount[] = [];
  try {
    for (const m of mounts) {
      await mountAt(m, target);
      done.push(m);
    }
    return await fn(target);
  } finally {
    for (let i = done.length - 1; i >= 0; i--) await unmount(target);
  }
}
