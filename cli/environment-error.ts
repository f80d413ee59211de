// Failures the machine causes, not tsbuild's code: a full disk, a permission the user lacks, a
// read-only filesystem, too many open files. They reach the top as raw Node errors (an errno code
// on the error or its cause), and the user gets what happened, where, and what to do, never the
// "internal error" report and its stack trace.
import { isTsbuildError } from '../src/errors/index.ts';

interface Errno {
  code: string;
  path?: string;
  dest?: string;
  syscall?: string;
}

const known: Record<string, { what: string; hint: string }> = {
  ENOSPC: { what: 'no space left on device', hint: 'free space on the filesystem of the state root or of the output (tsbuild prune frees build cache; tsbuild du shows it), or use --root on a larger one' },
  EDQUOT: { what: 'disk quota exceeded', hint: 'free space within your quota (tsbuild prune frees build cache), or use --root elsewhere' },
  EACCES: { what: 'permission denied', hint: 'run tsbuild as a user allowed to write there (the state root is root\'s), or choose another --root or dest' },
  EPERM: { what: 'operation not permitted', hint: 'tsbuild needs root for namespaces, overlay mounts and cgroups; run it as root' },
  EROFS: { what: 'read-only file system', hint: 'use a --root or dest on a writable filesystem' },
  EMFILE: { what: 'too many open files', hint: 'raise the open-file limit (ulimit -n) or lower --max-parallelism' },
  ENFILE: { what: 'too many open files on the system', hint: 'close other programs or raise fs.file-max' },
  ENOMEM: { what: 'out of memory', hint: 'free memory or lower --max-parallelism' },
};

/** The errno error in `e`'s cause chain that the machine caused, if any. */
function findErrno(e: unknown): Errno | undefined {
  for (let cur = e, depth = 0; cur && depth < 8; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && known[code]) return cur as Errno;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The report for an error the environment caused, or undefined when `e` is not one. */
export function formatEnvironmentError(e: unknown): string | undefined {
  const errno = findErrno(e);
  if (!errno) return undefined;
  const k = known[errno.code];
  const where = errno.dest ?? errno.path;
  const step = isTsbuildError(e) && e.step ? `${e.step}: ` : '';
  return `ERROR: ${step}${k.what}${where ? ` (${errno.syscall ? `${errno.syscall} ` : ''}${where})` : ''}\nhint: ${k.hint}\n`;
}
