// The copy action with Docker COPY semantics: sources are relative to the source root and never
// leave it, wildcards expand, a directory source copies its contents, a dest ending in '/' (or a
// directory when the source lands) is a directory to copy into, and chmod applies to everything
// copied. Several files onto a dest without '/' that is not a directory each overwrite it, the last
// one staying: BuildKit's copier decides per source (fsutil prepareTargetDir stats the dest each time). Ownership, as BuildKit: --chown's owner, else a snapshot's entries keep their uid/gid and a
// local context's are 0:0 (its transfer sends them so).
//
// Directories the copy makes around its sources, the missing parents and a directory source's missing
// dest, are 0755 and owned by --chown or root, whatever the source dir's mode or --chmod (fsutil copy's
// MkdirAll in prepareTargetDir; tonistiigi/fsutil#47). An existing dest keeps its own metadata.
//
// Exclusions, as BuildKit's copier (tonistiigi/fsutil copy): the source tree's own patterns
// (.dockerignore) match paths relative to its root; COPY --exclude patterns match paths relative to
// the copied source (a wildcard match itself by its name). An excluded directory that a `!`
// exception may re-include is walked, and made only when something below it is copied.
//
// ADD (extractArchives): a local file that is a tar archive is unpacked into dest (./archive.ts).
// COPY --parents: each source keeps its path below the context root, or below the `/./` pivot.
import { lstatSync, lutimesSync, readdirSync, type Stats } from 'node:fs';
import { basename, relative } from 'node:path';
import { cleanPath, createIgnoreMatcher, resolveInRoot, selectSources, type IgnoreMatcher, type SelectedSource } from '../../src/context/index.ts';
import { parseSymbolicMode, type CopyAction } from '../../src/llb/index.ts';
import { resolveOwner } from '../rootfs/users.ts';
import type { LocalRead } from '../ops/op-definition.ts';
import { extractArchive } from './archive.ts';
import { copiedMode, copyEntry, mkdirInRoot, type CopyOptions, type CopyReuse, type CopyVerdict, type EntryPath, type Owner } from './write-tree.ts';

const root: Owner = { uid: 0, gid: 0 };

/**
 * What a copy reads from its source, for the cache key: the paths as written, a symlink source
 * followed exactly when the copy follows it. Only the source's own patterns (.dockerignore) apply
 * to the hash: COPY --exclude matches relative to each copied source (below), so hashing a little
 * more than is copied is the safe side.
 *
 * Only a build context is hashed by path (any other input's content is in its key), and a
 * context's entries land owned by --chown or 0:0 (`keepOwners: false`): their owner never reaches
 * the result. Their mode does, unless an absolute --chmod replaces it on every entry copied (the
 * directories made around the sources are 0755 whatever the source); a symbolic one (`+x`) changes
 * the source's mode, which therefore stays in the key.
 */
export function copyReads(action: CopyAction): LocalRead {
  return { input: action.from, paths: action.src, followSymlinks: action.followSymlinks, owner: false, mode: action.chmod === undefined };
}

export interface CopySource {
  /** Host directory holding the source tree (a mounted snapshot view or a local context). */
  root: string;
  /** Patterns of the source itself (a local context's .dockerignore), on top of the action's. */
  excludePatterns: readonly string[];
  /** How messages name the source: "the build context", "the source". */
  name: string;
  /** Without --chown entries keep their uid/gid (a snapshot); otherwise they become 0:0 (a local context). */
  keepOwners: boolean;
}

/** One selected source (resolved as the cache key hashes it), and where below dest it goes with --parents. */
interface Match extends SelectedSource {
  /** With --parents: the path kept below dest ('' for none). */
  kept?: string;
}

/** `reuse`: regular files the last build of this step wrote, to link instead of copy (./copy-reuse.ts). */
export async function copyAction(destRoot: string, action: CopyAction, source: CopySource, reuse?: CopyReuse): Promise<void> {
  const matches = expandMatches(action, source);
  const chown = action.chown ? resolveOwner(destRoot, action.chown) : undefined;
  const dirOwner = chown ?? root;
  const rootMatcher = createIgnoreMatcher(source.excludePatterns);
  const excludeMatcher = createIgnoreMatcher(action.excludePatterns);
  const filter = (at: EntryPath, isDir: boolean): CopyVerdict => worst(verdict(rootMatcher, at.root, isDir), verdict(excludeMatcher, at.source, isDir));
  const chmod = action.chmod ?? (action.chmodSymbolic !== undefined ? parseSymbolicMode(action.chmodSymbolic) : undefined);
  // the frontend checked it; a bad one here is a bug in whatever made the op
  if (action.chmodSymbolic !== undefined && chmod === undefined) throw new Error(`copy action with an invalid symbolic chmod: ${action.chmodSymbolic}`);
  const opts: CopyOptions = { owner: chown ?? (source.keepOwners ? undefined : root), chmod, links: new Map(), filter, reuse };
  const dest = throughLinks(destRoot, action.dest.startsWith('/') ? action.dest : `/${action.dest}`);
  const destIsDir = () => dest.endsWith('/') || action.parents === true || isDir(resolveInRoot(destRoot, dest));
  const destDir = dest.replace(/\/+$/, '');
  const mirrored: [string, Stats][] = [];

  for (const { rel, kept, host: src, stat } of matches) {
    // the match itself: .dockerignore by its path, --exclude by its name (BuildKit matches a wildcard's hits so)
    const top = worst(verdict(rootMatcher, rel, stat.isDirectory()), verdict(excludeMatcher, rel === '.' ? '' : basename(rel), stat.isDirectory()));
    if (top === 'skip') continue;
    const at: EntryPath = { root: rel, source: '' };
    if (kept !== undefined) mirrored.push(...mirrorParents(destRoot, source.root, destDir, rel, kept, dirOwner, opts.chmod));
    if (action.extractArchives && stat.isFile() && (await extractArchive({ archive: src, rootfs: destRoot, dest: kept ? `${destDir}/${parentOf(kept)}` : dest, owner: chown, name: rel }))) continue;
    if (stat.isDirectory() && action.copyDirContents) {
      copyContents(destRoot, src, kept !== undefined ? `${destDir}/${kept}` : dest, dirOwner, opts, at);
      continue;
    }
    if (top === 'look') continue;
    const target = kept !== undefined ? `${destDir}/${kept}` : destIsDir() ? `${destDir}/${basename(rel === '.' ? '/' : rel)}` : dest;
    const parent = target.slice(0, target.lastIndexOf('/')) || '/';
    const hostParent = mkdirInRoot(destRoot, parent, dirOwner);
    copyEntry(src, `${hostParent}/${basename(target)}`, opts, stat, at);
  }
  // mtimes last: writing into the mirrored dirs changed them
  for (const [host, s] of mirrored.reverse()) lutimesSync(host, s.atime, s.mtime);
}

/**
 * The destination with every symlink on it resolved inside the root, the last one too: as fsutil's
 * Copy (fs.RootPath on the whole dest), COPY onto a link to a file writes the file and leaves the
 * link, and a link to a directory is copied into. Only the dest itself: links met below it while
 * copying a tree are replaced, never followed. A trailing '/' is kept.
 */
function throughLinks(destRoot: string, dest: string): string {
  const resolved = `/${relative(destRoot, resolveInRoot(destRoot, dest))}`.replace(/^\/$/, '/');
  const inRoot = resolved === '/' ? '/' : resolved.replace(/\/+$/, '');
  return dest.endsWith('/') && inRoot !== '/' ? `${inRoot}/` : inRoot;
}

function expandMatches(action: CopyAction, source: CopySource): Match[] {
  const select = (src: readonly string[]) =>
    selectSources(source.root, src, source.excludePatterns, { allowWildcardEmpty: action.allowWildcardEmpty, rootName: source.name, followSymlinks: action.followSymlinks });
  if (!action.parents) return select(action.src);
  const out: Match[] = [];
  for (const s of action.src) {
    const pivot = pivotOf(s);
    for (const m of select([s])) out.push({ ...m, kept: pivot === '' ? (m.rel === '.' ? '' : m.rel) : m.rel === pivot ? '' : m.rel.slice(pivot.length + 1) });
  }
  return out;
}

/** The part of a --parents source before its `/./` pivot, relative to the root ('' for none). */
export function pivotOf(src: string): string {
  const i = `/${src}`.indexOf('/./');
  return i < 0 ? '' : cleanPath(`/${src}`.slice(0, i)).slice(1);
}

function parentOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
}

/** --parents: the directories between dest and a kept source, made with their source dir's mode and mtime. */
function mirrorParents(destRoot: string, srcRoot: string, destDir: string, rel: string, kept: string, owner: Owner, chmod: CopyOptions['chmod']): [string, Stats][] {
  const made: [string, Stats][] = [];
  mkdirInRoot(destRoot, destDir || '/', owner);
  const keptDirs = kept.split('/').filter(Boolean).slice(0, -1);
  const base = rel.split('/').slice(0, rel.split('/').length - kept.split('/').length);
  for (let i = 1; i <= keptDirs.length; i++) {
    const path = `${destDir}/${keptDirs.slice(0, i).join('/')}`;
    const host = resolveInRoot(destRoot, path);
    if (isDir(host)) continue;
    const s = lstatSync(resolveInRoot(srcRoot, [...base, ...keptDirs.slice(0, i)].join('/')));
    mkdirInRoot(destRoot, path, owner, copiedMode(chmod, s));
    made.push([host, s]);
  }
  return made;
}

/** A directory source: its entries land in `dest`, made 0755 and owned by `dirOwner` when missing. */
function copyContents(destRoot: string, src: string, dest: string, dirOwner: Owner, opts: CopyOptions, at: EntryPath): void {
  const existing = resolveInRoot(destRoot, dest);
  // an existing dest keeps its own owner and mode (BuildKit: overwriteTargetMetadata is false at the top)
  const fresh = !isDir(existing);
  const host = fresh ? mkdirInRoot(destRoot, dest, dirOwner) : existing;
  for (const name of readdirSync(src).sort()) {
    const child = `${src}/${name}`;
    const cs = lstatSync(child);
    const childAt = { root: at.root === '.' ? name : `${at.root}/${name}`, source: name };
    const v = opts.filter ? opts.filter(childAt, cs.isDirectory()) : 'copy';
    if (v !== 'skip') copyEntry(child, `${host}/${name}`, opts, cs, childAt, v === 'look', { fresh });
  }
}

function verdict(matcher: IgnoreMatcher, path: string, isDir: boolean): CopyVerdict {
  if (path === '' || !matcher.ignores(path)) return 'copy';
  return isDir && matcher.hasExceptions ? 'look' : 'skip';
}

function worst(a: CopyVerdict, b: CopyVerdict): CopyVerdict {
  return a === 'skip' || b === 'skip' ? 'skip' : a === 'look' || b === 'look' ? 'look' : 'copy';
}

function isDir(host: string): boolean {
  try {
    return lstatSync(host).isDirectory();
  } catch {
    return false;
  }
}
