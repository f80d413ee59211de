// A RUN --mount must not put a FIFO or a kernel file where runc reads the container's /etc/passwd
// and /etc/group (../rootfs/users.ts says why runc reads them).
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { cleanPath, describeFileType, resolveInRoot } from '../../src/context/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { resolveInContainer, underKernelFs } from '../rootfs/kernel-paths.ts';
import type { SpecMount } from './spec.ts';

/**
 * Throws FILE_UNREADABLE when a RUN --mount would put something other than a regular file where
 * runc reads /etc/passwd or /etc/group (a FIFO bound there blocks runc for ever): a mount on the
 * table itself, or on a directory above it whose source holds a non-regular one.
 */
export function checkTableMounts(rootfs: string, mounts: readonly SpecMount[]): void {
  for (const file of ['/etc/passwd', '/etc/group']) {
    const table = resolveInContainer(rootfs, file) ?? file;
    for (const m of mounts) {
      if (m.type !== 'bind') continue; // a tmpfs starts empty
      const target = resolveInContainer(rootfs, m.destination) ?? m.destination;
      for (const at of new Set([table, file])) {
        if (at !== target && !at.startsWith(`${target === '/' ? '' : target}/`)) continue;
        let s;
        let what: string;
        try {
          const rel = at.slice(target.length);
          const entry = at === target ? m.source : resolveInRoot(m.source, rel, { followLast: false });
          s = lstatSync(entry);
          // a link in the mounted dir is read inside the container: one into /proc, /sys or /dev reaches the kernel's file
          const link = s.isSymbolicLink() ? readlinkSync(entry) : undefined;
          if (link !== undefined && underKernelFs(cleanPath(link.startsWith('/') ? link : `${dirname(at)}/${link}`))) what = `a link to ${link}`;
          else {
            // any other link followed inside the mounted dir, never onto the host
            s = at === target ? statSync(entry) : lstatSync(resolveInRoot(m.source, rel));
            if (s.isFile()) continue;
            what = describeFileType(s);
          }
        } catch {
          continue; // absent (or a link to nothing on this side): runc takes the defaults
        }
        throw new TsbuildError(`cannot start a process with the mount at ${m.destination}: it puts ${what} as ${file}, not a regular file, and runc reads it to start every process`, {
          code: ErrorCodes.FILE_UNREADABLE,
          kind: 'invalid',
          hint: `mount a regular file there, or mount it elsewhere${s.isFIFO() ? ': Docker would hang here' : ''}`,
        });
      }
    }
  }
}
