// Writing files into a root filesystem without ever following a link that is already there: every
// existing non-directory at a target is removed first, and only directories we just checked (lstat)
// are descended into. Parents are resolved with resolveInRoot, so image symlinks stay inside the root.
import { chmodSync, constants as fsConstants, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, type Stats } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { resolveInRoot } from '../../src/context/index.ts';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { applySymbolicMode, type ModeCommand } from '../../src/llb/index.ts';
import { deviceNumbers } from '../layer/layer-tar.ts';

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** Owner of every copied entry; absent, each keeps its source's uid/gid. */
  owner?: Owner;
  /** Mode for every copied file and dir, or symbolic changes to each one's own; otherwise each keeps its own. */
  chmod?: number | readonly ModeCommand[];
  /** Source (dev:ino) → first destination written, so hard links stay links. */
  links: Map<string, string>;
  /** Decides for every entry below a copied source; absent, everything is copied. */
  filter?: (at: EntryPath, isDir: boolean) => CopyVerdict;
  /** Regular files the last build of this step already wrote, hard-linked once the copy is done (./copy-reuse.ts). */
  reuse?: CopyReuse;
}

/**
 * What the copy tells a reuse plan (./copy-reuse.ts) about the host paths it writes: it may
 * defer a regular file (link it from the previous result later) and must hear of everything
 * written or removed at a path, so nothing deferred lands over what the copy put there since.
 */
export interface CopyReuse {
  /** Something else goes to `dest`, or it is removed (`tree`: a directory, with everything below it). */
  forget(dest: string, tree: boolean): void;
  /** A regular file about to be copied from `src`: true when it is deferred, and nothing is written now. */
  defer(src: string, dest: string, s: Stats, mode: number, owner: Owner): boolean;
  /** A regular file whose source's lstat is `s` was copied to `dest`, as inode `ino`. */
  copied(dest: string, s: Stats, ino: number): void;
}

/** Where an entry sits: relative to the source tree's root (.dockerignore) and to the copied source (--exclude). */
export interface EntryPath {
  root: string;
  source: string;
}

/** The mode a copied entry gets: --chmod's, its own changed by a symbolic --chmod, or its own. */
export function copiedMode(chmod: CopyOptions['chmod'], s: Stats): number {
  if (chmod === undefined) return s.mode & 0o7777;
  return typeof chmod === 'number' ? chmod : applySymbolicMode(chmod, s.mode, s.isDirectory());
}

/** `look`: an excluded directory that an exception (`!pattern`) may re-include something below. */
export type CopyVerdict = 'copy' | 'skip' | 'look';

/** Creates the missing directories of `path` (absolute inside root) with mode 0755 and `owner`; returns the host path. */
export function mkdirInRoot(root: string, path: string, owner: Owner, mode = 0o755): string {
  return resolveInRoot(root, path, {
    visit(host, existing) {
      if (existing?.isDirectory()) return;
      if (existing) rmSync(host, { force: true });
      mkdirSync(host);
      lchownSync(host, owner.uid, owner.gid);
      chmodSync(host, mode);
    },
  });
}

/** Removes whatever is at `host` unless it is a directory and `keepDir` (a directory merge). */
function clearTarget(host: string, keepDir: boolean, reuse?: CopyReuse): Stats | undefined {
  reuse?.forget(host, false);
  // no exception for the usual case, a target not there yet: making one costs more than the lstat
  const s = lstatSync(host, { throwIfNoEntry: false });
  if (s === undefined) return undefined;
  if (keepDir && s.isDirectory()) return s;
  if (s.isDirectory()) reuse?.forget(host, true);
  rmSync(host, { recursive: true, force: true });
  return undefined;
}

/**
 * Copies the entry at `src` (not following it when it is a link) to the host path `dest`, recursively,
 * asking `opts.filter` about everything below it when `at` says where it sits. `look`: see CopyVerdict.
 */
export function copyEntry(src: string, dest: string, opts: CopyOptions, stat?: Stats, at?: EntryPath, look = false, place: TargetPlace = {}): void {
  copyTree(src, dest, opts, stat ?? lstatSync(src), at, () => {}, { look, fresh: place.fresh === true });
}

/** What the caller knows of a target's place. */
export interface TargetPlace {
  /** Its directory was made by this copy and nothing has been written in it under this name: no lstat, no removal. */
  fresh?: boolean;
}

/** How copyTree treats one entry: `look` (see CopyVerdict) and `fresh` (TargetPlace). */
interface TreeStep {
  look: boolean;
  fresh: boolean;
}

/**
 * One entry and what is below it. `look` (an excluded dir that an exception may re-include) makes
 * the dir only when something below it is copied: `parentReady` makes the pending parents first.
 */
function copyTree(src: string, dest: string, opts: CopyOptions, s: Stats, at: EntryPath | undefined, parentReady: () => void, step: TreeStep): void {
  const mode = copiedMode(opts.chmod, s);
  const owner = opts.owner ?? { uid: s.uid, gid: s.gid };
  if (s.isDirectory()) {
    let made = false;
    // made here, empty: its entries need no lstat of their targets (through an overlay mount, a
    // lookup of a missing name asks every layer) and nothing can be in their way
    let empty = false;
    const ready = () => {
      if (made) return;
      parentReady();
      if (step.fresh || !clearTarget(dest, true, opts.reuse)) {
        mkdirSync(dest, { mode: 0o700 });
        empty = true;
      }
      lchownSync(dest, owner.uid, owner.gid);
      chmodSync(dest, mode);
      made = true;
    };
    if (!step.look) ready();
    for (const name of readdirSync(src).sort()) {
      // a name from readdir needs no normalizing: join's was most of the copy's garbage
      const child = childPath(src, name);
      const cs = lstatSync(child);
      const childAt = at && { root: below(at.root, name), source: below(at.source, name) };
      const verdict = childAt && opts.filter ? opts.filter(childAt, cs.isDirectory()) : 'copy';
      if (verdict === 'skip') continue;
      // (a dir made lazily, under `look`, is not known empty when its first entry is visited)
      copyTree(child, childPath(dest, name), opts, cs, childAt, ready, { look: verdict === 'look', fresh: empty && !step.look });
    }
    if (made) lutimesSync(dest, s.atime, s.mtime);
    return;
  }
  if (step.look) return;
  parentReady();
  if (!step.fresh) clearTarget(dest, false, opts.reuse);
  const inode = `${s.dev}:${s.ino}`;
  const first = s.nlink > 1 ? opts.links.get(inode) : undefined;
  if (first !== undefined) {
    linkSync(first, dest);
    return;
  }
  if (s.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dest);
  } else if (s.isFile()) {
    if (s.nlink === 1 && opts.reuse?.defer(src, dest, s, mode, owner)) return;
    const made = copyRegularFile(src, dest, s, mode, owner);
    if (s.nlink > 1) opts.links.set(inode, dest);
    else opts.reuse?.copied(dest, s, made.ino);
    return;
  } else if (!makeSpecialFile(s, dest)) {
    // a socket lives only while its server does; a layer cannot carry one either
    return;
  }
  lchownSync(dest, owner.uid, owner.gid);
  if (!s.isSymbolicLink()) chmodSync(dest, mode);
  finishCopy(s, dest, opts, inode);
}

/**
 * Copies the regular file `src` (stat `s`) to `dest`, where nothing is, with `mode`, `owner` and the
 * source's times; returns the new file's stat (taken before its owner, mode and times were set).
 */
export function copyRegularFile(src: string, dest: string, s: Pick<Stats, 'atimeMs' | 'mtimeMs'>, mode: number, owner: Owner): Stats {
  // exclusive: nothing is there, and without it libuv stats and truncates the new file, and ext4
  // starts writing back a file truncated to 0 when it is closed (auto_da_alloc), in the close
  copyFileSync(src, dest, fsConstants.COPYFILE_EXCL);
  // the new file has the source's mode (copyfile sets it) and our uid/gid (or its dir's group):
  // when that is already right, one lstat replaces chown and chmod, two inode writes per file
  const made = lstatSync(dest);
  const chown = made.uid !== owner.uid || made.gid !== owner.gid;
  if (chown) lchownSync(dest, owner.uid, owner.gid);
  // after a chown too: it clears setuid and setgid
  if (chown || (made.mode & 0o7777) !== mode) chmodSync(dest, mode);
  lutimesSync(dest, utimeSeconds(s.atimeMs), utimeSeconds(s.mtimeMs));
  return made;
}

/**
 * The seconds utimes gets from Stats' Date for these milliseconds (Node rounds them to whole ones),
 * without making the Date: a big COPY keeps these for every file it may link instead.
 */
export function utimeSeconds(ms: number): number {
  return Math.trunc(ms + 0.5) / 1000;
}

/** Last for every copied non-directory: its times, and its first path for later hard links to it. */
function finishCopy(s: Stats, dest: string, opts: CopyOptions, inode: string): void {
  lutimesSync(dest, s.atime, s.mtime);
  if (s.nlink > 1) opts.links.set(inode, dest);
}

const childPath = (dir: string, name: string) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

function below(parent: string, name: string): string {
  return parent === '' || parent === '.' ? name : `${parent}/${name}`;
}

/**
 * FIFOs and device nodes are copied as nodes, as BuildKit's copier does (fsutil copyDevice
 * mknods them with the source's type and numbers); false for a socket, which is left out.
 * Node has no mknod(2): coreutils' mknod does it.
 */
function makeSpecialFile(s: Stats, dest: string): boolean {
  let args: string[];
  if (s.isFIFO()) args = [dest, 'p'];
  else if (s.isCharacterDevice() || s.isBlockDevice()) {
    const { major, minor } = deviceNumbers(s.rdev);
    args = [dest, s.isCharacterDevice() ? 'c' : 'b', String(major), String(minor)];
  } else return false;
  const r = spawnSync('mknod', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new TsbuildError(`cannot copy the special file ${dest}: mknod failed: ${r.error?.message ?? r.stderr.trim()}`, { code: ErrorCodes.INTERNAL, kind: 'unavailable', hint: 'device nodes need CAP_MKNOD: run tsbuild as root' });
  return true;
}
