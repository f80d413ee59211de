// The runtime creates missing mount targets (/proc, /dev, /etc/hosts, ...) in the rootfs, and on
// overlay that lands in the upper dir, so the layer would carry empty dirs and files nobody asked
// for (BuildKit 0.8 leaks them this way). We note what existed before the run and afterwards
// remove, from the upper dir, what the runtime created only to mount on.
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { listOpaque } from '../snapshot/xattr.ts';

export interface PathState {
  /** Absolute path inside the container. */
  path: string;
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
    .sort((a, b) => b.split('/').length - a.split('/').length || a.localeCompare(b))
    .map((path) => {
      try {
        const s = lstatSync(join(rootfs, path));
        return { path, existed: true, mode: s.mode, uid: s.uid, gid: s.gid };
      } catch {
        return { path, existed: false };
      }
    });
}

/** Removes, from the unmounted upper dir, the empty targets that did not exist and the dirs copied up only for them. */
export async function removeCreatedTargets(upperDir: string, before: readonly PathState[]): Promise<void> {
  const opaque = await listOpaque(upperDir);
  for (const state of before) {
    const p = join(upperDir, state.path);
    let s;
    try {
      s = lstatSync(p);
    } catch {
      continue;
    }
    if (s.isDirectory()) {
      if (opaque.has(p) || readdirSync(p).length > 0) continue;
      const unchanged = state.existed && s.mode === state.mode && s.uid === state.uid && s.gid === state.gid;
      if (!state.existed || unchanged) rmdirSync(p);
    } else if (s.isFile() && !state.existed && s.size === 0) {
      unlinkSync(p);
    }
  }
}
