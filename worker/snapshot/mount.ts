// Mounting and unmounting, from data. The snapshotter only describes mounts; this module performs
// them with util-linux's mount(8)/umount(8), which know every filesystem's option syntax.
import { execFile } from 'node:child_process';
import { dirname, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';

const run = promisify(execFile);

/** One mount as plain data, in mount(8) terms. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

// The kernel copies mount options into one page; longer option strings fail with a vague EINVAL.
const pageSize = 4096;

/**
 * Mounts `m` on `target`. Overlay mounts with a lowerdir list too long for one page are retried
 * with paths relative to the lowers' common parent, mount(8) run with that parent as its cwd
 * (overlayfs resolves relative lowerdirs against the caller's cwd).
 */
export async function mountAt(m: Mount, target: string): Promise<void> {
  let options = m.options.join(',');
  let cwd: string | undefined;
  if (m.type === 'overlay' && options.length >= pageSize) {
    ({ options, cwd } = relativeOverlayOptions(m.options));
    if (options.length >= pageSize) {
      throw new TsbuildError(`snapshot chain too deep to mount: ${m.options.find((o) => o.startsWith('lowerdir='))!.split(':').length} layers exceed the kernel's ${pageSize}-byte mount option limit`, {
        code: ErrorCodes.STATE_ERROR,
        kind: 'precondition',
        hint: 'squash some layers of the base image',
      });
    }
  }
  try {
    await run('mount', ['-t', m.type, m.source, target, ...(options ? ['-o', options] : [])], { cwd });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new TsbuildError(`mount ${m.type} on ${target} failed: ${stderr || (e as Error).message}`, { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', cause: e });
  }
}

/** Unmounts `target`, detaching lazily when it is busy so cleanup always makes progress. Missing mounts are fine. */
export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', [target]);
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '');
    if (/not mounted|no mount point|No such file/i.test(stderr)) return;
    await run('umount', ['-l', target]).catch(() => undefined);
  }
}

function relativeOverlayOptions(options: string[]): { options: string; cwd: string } {
  const dirs = options.flatMap((o) => (o.startsWith('lowerdir=') ? o.slice(9).split(':') : o.startsWith('upperdir=') || o.startsWith('workdir=') ? [o.slice(o.indexOf('=') + 1)] : []));
  const cwd = commonDir(dirs);
  const rel = (p: string) => relative(cwd, p) || '.';
  const out = options.map((o) => {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq);
    if (key === 'lowerdir') return `lowerdir=${o.slice(eq + 1).split(':').map(rel).join(':')}`;
    if (key === 'upperdir' || key === 'workdir') return `${key}=${rel(o.slice(eq + 1))}`;
    return o;
  });
  return { options: out.join(','), cwd };
}

function commonDir(paths: string[]): string {
  let common = dirname(paths[0]);
  for (const p of paths) {
    while (common !== sep && !(p + sep).startsWith(common + sep)) common = dirname(common);
  }
  return common;
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
