// The runtime creates missing mount targets (/proc, /dev, /etc/hosts, ...) in the rootfs, and on
// overlay that lands in the upper dir, so the layer would carry empty dirs and files nobody asked
// for (BuildKit 0.8 leaks them this way). We note what existed before the run and afterwards
// remove, from the upper dir, what the runtime created only to mount on.
//
// The command may have replaced an ancestor of a target with a symlink (`ln -s /etc /a` over a
// tmpfs at /a/b), and a plain join would then follow it onto the host: paths are walked one
// component at a time with lstat, and one below anything but a real directory is left alone.
import { lstatSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { isOpaque } from '../snapshot/xattr.ts';
import type { Trash } from '../snapshot/background-removal.ts';
import { cleanPath } from '../../src/context/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { resolveInContainer, underKernelFs } from '../rootfs/kernel-paths.ts';
import type { SpecMount } from './spec.ts';

export interface PathState {
  /** Absolute path inside the container. */
  path: string;
  /** True also when an ancestor was a symlink: what is there belongs to the image, never removed. */
  existed: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** The state of every target and its ancestors in the mounted rootfs, deepest first. */
export function recordTargets(rootfs: string, targets: readonly string[]): PathState[] {
  const paths = new Set<string>();
  for (const t of targets) for (let p = t; p !== '/' && p !== '.'; p = dirname(p)) paths.add(p);
  return [...paths]
    // plain code-unit order: localeCompare's first call loads ICU's collation data (~10 ms on the first step)
    .sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => {
      const s = lstatBelow(rootfs, path);
      if (s === 'not-below') return { path, existed: true };
      return s ? { path, existed: true, mode: s.mode, uid: s.uid, gid: s.gid } : { path, existed: false };
    });
}

/**
 * What is at `path` (absolute inside `root`) without following any link: its lstat, undefined when
 * missing, or `not-below` when an ancestor is not a real directory (a symlink may lead anywhere).
 */
export function lstatBelow(root: string, path: string): Stats | undefined | 'not-below' {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return 'not-below';
  let cur = root;
  for (const [i, part] of parts.entries()) {
    cur = join(cur, part);
    let s: Stats | undefined;
    try {
      // a missing path is the common answer here (busybox has no /proc, /sys, /dev): asked without
      // an exception, whose error object and stack cost more than the lstat
      s = lstatSync(cur, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (s === undefined) return undefined;
    if (i === parts.length - 1) return s;
    if (!s.isDirectory()) return 'not-below';
  }
  return undefined;
}

/**
 * Of the dirs that existed before the run, those the still-mounted rootfs shows an entry of that the
 * upper dir lacks: an entry of a lower layer shows through, so the upper copy is not opaque. Read
 * after the run and before the unmount, it spares removeCreatedTargets asking getfattr (a process
 * per step) whether a dir copied up only for a mount target is opaque.
 */
export function dirsShowingLower(rootfs: string, upperDir: string, before: readonly PathState[]): Set<string> {
  const out = new Set<string>();
  for (const state of before) {
    if (!state.existed || state.mode === undefined) continue;
    const merged = lstatBelow(rootfs, state.path);
    const upper = lstatBelow(upperDir, state.path);
    if (typeof merged !== 'object' || typeof upper !== 'object' || !merged.isDirectory() || !upper.isDirectory()) continue;
    try {
      const inUpper = new Set(readdirSync(join(upperDir, state.path)));
      if (readdirSync(join(rootfs, state.path)).some((n) => !inUpper.has(n))) out.add(state.path);
    } catch {
      // unreadable: getfattr is asked, as before
    }
  }
  return out;
}

/**
 * Removes, from the unmounted upper dir, the empty targets that did not exist and the dirs copied up
 * only for them. `form: 'tree'` (a copying snapshotter's whole tree): only what did not exist.
 * `showsLower` (from dirsShowingLower): dirs known not to be opaque, which getfattr need not be asked about.
 */
export async function removeCreatedTargets(upperDir: string, before: readonly PathState[], form: 'diff' | 'tree' = 'diff', showsLower: ReadonlySet<string> = new Set(), trash?: Trash): Promise<void> {
  // an rmdir frees the dir's block, which can wait on the disk: moved into the trash instead when given
  const removeDir = (p: string) => {
    if (!trash?.take(p)) rmdirSync(p);
  };
  for (const state of before) {
    const s = lstatBelow(upperDir, state.path);
    if (s === undefined || s === 'not-below') continue;
    // every ancestor is a real directory of the upper dir, so this path stays inside it
    const p = join(upperDir, state.path);
    if (s.isDirectory()) {
      if (readdirSync(p).length > 0) continue;
      const unchanged = state.existed && s.mode === state.mode && s.uid === state.uid && s.gid === state.gid;
      if (!state.existed) removeDir(p);
      else if (unchanged && form === 'diff') {
        // an existing dir, empty and unchanged in the upper dir, was copied up only for a mount
        // target below it, unless it is opaque (everything in it was removed): asked only for such
        // dirs, not the whole tree. A dir that did not exist was made to mount on: it goes whatever
        // its marker (one over a lower whiteout hides only what that whiteout hid already)
        if (!showsLower.has(state.path) && (await isOpaque(p))) continue;
        removeDir(p);
      }
    } else if (s.isFile() && !state.existed && s.size === 0) {
      unlinkSync(p);
    }
  }
}

/**
 * The runtime's mounts with each bind of `sources` (the host's /etc/hosts and /etc/resolv.conf)
 * aimed at where its destination resolves in the rootfs, as the image's links lead: runc then
 * follows no link of the image, and what it creates to mount on is where recordTargets and
 * removeCreatedTargets look. A destination that resolves into /proc, /sys or /dev (mounted first,
 * so a runtime path such as /proc/self/cwd, a host directory), to the root, below a file or onto a
 * directory is not mounted at all: the step sees the image's own file there, or none. (BuildKit's MountStubsCleaner resolves
 * these two the same way, with continuity's fs.RootPath, to remove its stubs, but still hands runc
 * the literal /etc path.)
 */
export function placeBindTargets(rootfs: string, mounts: readonly SpecMount[], sources: readonly string[]): SpecMount[] {
  return mounts.flatMap((m) => {
    if (m.type !== 'bind' || !sources.includes(m.source)) return [m];
    const destination = resolveInContainer(rootfs, m.destination);
    if (destination === undefined || destination === '/' || underKernelFs(destination)) return [];
    // below a file, or a directory where a file is to go: runc could only fail
    const there = lstatBelow(rootfs, destination);
    if (there === 'not-below' || there?.isDirectory()) return [];
    return [{ ...m, destination }];
  });
}

/**
 * The op's own mounts (RUN --mount), each aimed where its target resolves through the image's
 * links, so what runc creates to mount on is recorded and removed where it lands. A target below
 * an earlier mount of the op is left as written (runc resolves it inside that mount), and so is
 * one written below /proc, /sys or /dev; one that only a link of the image leads into them is
 * refused: runc would resolve it through the kernel's files (/proc/self/cwd is a host directory).
 */
export function placeOpTargets(rootfs: string, mounts: readonly SpecMount[]): SpecMount[] {
  const placed: SpecMount[] = [];
  const below = (path: string, dir: string) => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
  for (const m of mounts) {
    const written = cleanPath(m.destination);
    const destination = resolveInContainer(rootfs, written) ?? written;
    if (underKernelFs(written) || placed.some((p) => below(written, p.destination) || below(destination, p.destination))) {
      placed.push(m);
      continue;
    }
    if (underKernelFs(destination)) {
      throw new TsbuildError(`the mount target ${m.destination} leads, through the image's symlinks, to ${destination}: the runtime would resolve it through the kernel's files there`, {
        code: ErrorCodes.PATH_ESCAPE,
        kind: 'invalid',
        hint: 'mount at a path that is not a symlink into /proc, /sys or /dev in the image',
      });
    }
    placed.push({ ...m, destination });
  }
  return placed;
}
