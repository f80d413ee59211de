// Where a path of the image really leads once the container runs. The runtime mounts procfs, a
// tmpfs and sysfs over /proc, /dev and /sys before anything else, so a path of the image that
// resolves (through the image's own links) below them is not the image's file at run time: a
// link `/etc/passwd -> /proc/kmsg` reads the kernel's log (and blocks), and a mount target
// `etc -> /proc/self/cwd` makes the runtime create its target in a host directory.
import { relative } from 'node:path';
import { resolveInRoot } from '../../src/context/index.ts';

const kernelDirs = ['/proc', '/sys', '/dev'];

/** True when `path` (absolute, clean, inside the container) is /proc, /sys or /dev or below them. */
export function underKernelFs(path: string): boolean {
  return kernelDirs.some((d) => path === d || path.startsWith(`${d}/`));
}

/**
 * `path` with every symlink of the rootfs resolved (as the process inside would see it, before any
 * mount), as a clean absolute path inside the container; undefined when it cannot be resolved
 * (a link loop).
 */
export function resolveInContainer(rootfs: string, path: string): string | undefined {
  try {
    return `/${relative(rootfs, resolveInRoot(rootfs, path))}`;
  } catch {
    return undefined;
  }
}
