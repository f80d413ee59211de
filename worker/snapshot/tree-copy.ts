// Copying whole filesystem trees and lists of entries between them with everything a layer
// carries: owners, modes, times (to the nanosecond), xattrs (file capabilities included), hard
// links, device nodes, fifos. Node can do neither mknod nor xattrs, so this uses coreutils' cp and
// GNU tar, which do all of it (tar in pax format, which keeps nanosecond times and xattrs).
import { spawn } from 'node:child_process';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';

/** Copies the contents of `src` into the existing directory `dest`. */
export async function copyTree(src: string, dest: string): Promise<void> {
  // --reflink=auto: a clone where the filesystem can (btrfs, xfs), a copy elsewhere
  await runTool('cp', ['-a', '--reflink=auto', '--no-target-directory', '--', `${src}/.`, dest], undefined, `copy ${src} to ${dest}`);
}

// overlay's own markers mean nothing in a plain tree, and in a diff they are written on purpose only
const xattrFlags = ['--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.overlay.*'];

/**
 * Copies the entries `names` (relative to `src`, parents listed before children; directories
 * without their contents) into `dest`, where their parent directories exist. Hard links between
 * listed entries stay hard links. An existing non-directory at a listed path is replaced.
 */
export async function copyEntries(src: string, dest: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const create = ['tar', '-C', src, '--create', '--file=-', '--format=posix', ...xattrFlags, '--no-recursion', '--null', '--verbatim-files-from', '--files-from=-'];
  // --delay-directory-restore: a directory's times are set once everything is in it, not when the
  // archive first moves past it (an entry listed later, like a hard link, would touch it again)
  const extract = ['tar', '-C', dest, '--extract', '--file=-', '--same-permissions', '--same-owner', '--numeric-owner', '--delay-directory-restore', ...xattrFlags];
  const quote = (a: string[]) => a.map((s) => `'${s.replace(/'/g, `'\\''`)}'`).join(' ');
  const list = Buffer.from(names.map((n) => `./${n}\0`).join(''));
  await runTool('bash', ['-c', `set -o pipefail; ${quote(create)} | ${quote(extract)}`], list, `copy ${names.length} entries from ${src} to ${dest}`);
}

/** Runs a tool with `input` on stdin; a failure is STATE_ERROR naming `what` and the tool's stderr. */
export function runTool(cmd: string, args: string[], input: Buffer | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      // keep the start: the first error is the one that explains
      if (stderr.length < 4096) stderr += d;
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('error', (e) => reject(new TsbuildError(`${what}: cannot run ${cmd}: ${e.message}`, { code: ErrorCodes.STATE_ERROR, kind: 'unavailable', hint: 'install coreutils and GNU tar', cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TsbuildError(`${what} failed: ${stderr.trim() || `${cmd} exited with ${code}`}`, { code: ErrorCodes.STATE_ERROR, kind: 'unavailable' }));
    });
  });
}
