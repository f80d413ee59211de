// The copy action with Docker COPY semantics: sources are relative to the source root and never
// leave it, wildcards expand, a directory source copies its contents, a dest ending in '/' (or an
// existing directory, or several sources) is a directory to copy into, missing parents are created
// with the copy's owner, ownership is 0:0 unless chown, and chmod applies to everything copied.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { expandSources, resolveInRoot } from '../../src/context/index.ts';
import { ErrorCodes, notFound } from '../../src/errors/index.ts';
import type { CopyAction } from '../../src/llb/index.ts';
import { resolveOwner } from '../exec/user.ts';
import { copyEntry, mkdirInRoot, type CopyOptions } from './write-tree.ts';

export interface CopySource {
  /** Host directory holding the source tree (a mounted snapshot view or a local context). */
  root: string;
  /** Patterns of the source itself (a local context's .dockerignore), on top of the action's. */
  excludePatterns: readonly string[];
  /** How messages name the source: "the build context", "the source". */
  name: string;
}

export function copyAction(destRoot: string, action: CopyAction, source: CopySource): void {
  const rels = expandSources(source.root, action.src, [...source.excludePatterns, ...action.excludePatterns], {
    allowWildcardEmpty: action.allowWildcardEmpty,
    rootName: source.name,
  });
  const owner = action.chown ? resolveOwner(destRoot, action.chown) : { uid: 0, gid: 0 };
  const opts: CopyOptions = { owner, chmod: action.chmod, links: new Map() };
  const dest = action.dest.startsWith('/') ? action.dest : `/${action.dest}`;
  const destIsDir = dest.endsWith('/') || rels.length > 1 || isDir(resolveInRoot(destRoot, dest));

  for (const rel of rels) {
    const src = resolveInRoot(source.root, rel, { followLast: action.followSymlinks });
    const stat = statInside(src, rel, source);
    if (stat.isDirectory() && action.copyDirContents) {
      copyContents(destRoot, src, dest, stat, opts);
      continue;
    }
    const target = destIsDir ? `${dest.replace(/\/+$/, '')}/${basename(rel === '.' ? '/' : rel)}` : dest;
    const parent = target.slice(0, target.lastIndexOf('/')) || '/';
    const hostParent = mkdirInRoot(destRoot, parent, owner);
    copyEntry(src, `${hostParent}/${basename(target)}`, opts, stat);
  }
}

/** A directory source: its entries land in `dest`, which is created (with the source dir's metadata) when missing. */
function copyContents(destRoot: string, src: string, dest: string, stat: Stats, opts: CopyOptions): void {
  const host = resolveInRoot(destRoot, dest);
  if (isDir(host)) {
    for (const [name, child] of entries(src)) copyEntry(child, `${host}/${name}`, opts);
    return;
  }
  const parent = dest.replace(/\/+$/, '').slice(0, dest.replace(/\/+$/, '').lastIndexOf('/')) || '/';
  const hostParent = mkdirInRoot(destRoot, parent, opts.owner);
  copyEntry(src, `${hostParent}/${basename(dest.replace(/\/+$/, ''))}`, opts, stat);
}

function entries(dir: string): [string, string][] {
  return readdirSync(dir)
    .sort()
    .map((n) => [n, `${dir}/${n}`]);
}

/** The source's stat; a followed link whose target is missing inside the root is a missing source. */
function statInside(host: string, rel: string, source: CopySource): Stats {
  try {
    return lstatSync(host);
  } catch {
    throw notFound(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${rel}" is a symlink to a path not found in ${source.name}`);
  }
}

function isDir(host: string): boolean {
  try {
    return lstatSync(host).isDirectory();
  } catch {
    return false;
  }
}
