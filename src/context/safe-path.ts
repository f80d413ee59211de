// Path resolution inside a root filesystem, as the process inside it would see it: every symlink
// (absolute or relative, at any depth) is resolved against the root, and `..` stops at the root.
// So a link `etc -> /etc` in an image means <root>/etc, never the host's /etc.
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../errors/index.ts';

// Linux's own limit on symlinks followed while resolving one path (MAXSYMLINKS).
const maxLinks = 40;

export interface ResolveOptions {
  followLast?: boolean;
  /**
   * Called once for each component that is not a symlink, in order, with what is there now
   * (undefined: missing): lets mkdir -p create the path in the same single walk, where resolving
   * each prefix anew would cost quadratic lstat calls (a WORKDIR of 1,000 components took 40 s).
   */
  visit?: (host: string, existing: Stats | undefined) => void;
}

/**
 * The host path of `path` inside `root`. Missing components are kept as named (so callers can
 * create them); with `followLast: false` a final symlink is not followed (rm, lchown, writing a link).
 */
export function resolveInRoot(root: string, path: string, opts: ResolveOptions = {}): string {
  const followLast = opts.followLast ?? true;
  let parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    if (part === '.') continue;
    const host = join(root, ...resolved, part);
    if (parts.length === 0 && !followLast && !opts.visit) {
      resolved.push(part);
      break;
    }
    let existing: Stats | undefined;
    try {
      existing = lstatSync(host);
    } catch {
      // does not exist (yet): nothing to follow
    }
    if (!existing?.isSymbolicLink() || (parts.length === 0 && !followLast)) {
      opts.visit?.(host, existing);
      resolved.push(part);
      continue;
    }
    if (++links > maxLinks) throw new TsbuildError(`too many levels of symbolic links resolving "${path}"`, { code: ErrorCodes.PATH_ESCAPE, kind: 'invalid' });
    const target = readlinkSync(host);
    if (target.startsWith('/')) resolved.length = 0;
    parts = [...target.split('/').filter((p) => p !== '' && p !== '.'), ...parts];
  }
  return join(root, ...resolved);
}

/** The path relative to the root as a clean absolute path (`a/../b/` → `/b`), lexically, for messages and matching. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return '/' + out.join('/');
}
