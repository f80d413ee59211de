// A COPY from a build context that the last build of the same step already made: every regular
// file whose source is the same inode, unchanged, and that would land with the same mode, owner and
// mtime, is hard-linked from that build's committed snapshot instead of copied (a link costs ~18 us
// here, a file creation 23-500 us). One changed file of a 20,000-file context then costs one copy.
//
// How, and why it is safe:
// - Each result of a copy keeps a manifest (`copy-manifest` beside its diff dir): for every
//   regular file the copy wrote, its path, the identity of its source (dev, inode, size, mtime and
//   ctime: ctime moves on every write, chmod, chown, rename and link, and cannot be set by a user,
//   so the same identity means the same bytes, as in the context's stat cache,
//   src/context/file-digest-cache.ts) and the inode it made. A source changed less than `settleMs`
//   before the copy is not recorded: a write within the clock's granularity would keep its identity.
// - While the copy runs through the overlay mount, such a file is *deferred*: nothing is written at
//   its path. Only files with one link (a source hard link is copied as a link, ./write-tree.ts) and
//   only into a directory already in the new snapshot's upper dir (so no copy-up is left undone).
// - After the overlay is unmounted, each deferred file is linked into the upper dir, where the copy
//   left nothing (or a whiteout of a lower file, which a created file would have replaced too), and
//   checked: the inode the manifest names, with the size, mode, owner and mtime the copy would give.
//   A path something else was written to since is left alone; a link that fails or does not check
//   (the previous result pruned meanwhile) becomes a copy. The directories linked into get their
//   times back.
// - Only the last action of a file op is planned so (./file-op.ts): nothing after it in the step
//   writes through a link. A committed snapshot is immutable: later steps change its files through
//   overlay copy-up, which makes a new inode; the copy snapshotter copies trees (cp -a, tar) and
//   never links, and this plan is used with the overlay snapshotter only. Removing either snapshot
//   removes one link. The layer tar writes a file met once in its tree as a file (layer-tar.ts), and
//   no inode is linked twice into one snapshot, so its tar is the one a full copy gives.
import { linkSync, lstatSync, lutimesSync, readFileSync, rmSync, writeFileSync, type BigIntStats, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { isWhiteoutDevice } from '../layer/layer-tar.ts';
import { copyRegularFile, utimeSeconds, type CopyReuse, type Owner } from './write-tree.ts';

export const copyManifestName = 'copy-manifest';

// Far above any filesystem's timestamp granularity, as the context's stat cache
const settleMs = 2000;

export interface CopyReuseOptions {
  /** Where the active snapshot is mounted while the copy runs (the copy's host paths start with it). */
  rootfs: string;
  /** The active snapshot's own diff dir (overlay upper dir), written once `rootfs` is unmounted. */
  upper: string;
  /** Where this result's manifest is written. */
  manifest: string;
  /** The last committed result of the same step: its diff dir and its manifest file. */
  previous?: { fs: string; manifest: string };
}

export interface CopyReusePlan extends CopyReuse {
  /** With `rootfs` unmounted: links the deferred files, copies what cannot be linked, writes the manifest. */
  finish(): { linked: number; copied: number };
}

/**
 * What the manifest keeps of a path: `<source identity>\t<inode written>`, one string (20,000
 * files cost ~2 MB of memory so, where an object per file cost several times that).
 */
type Entry = string;

interface Deferred {
  rel: string;
  src: string;
  times: Pick<Stats, 'atimeMs' | 'mtimeMs'>;
  size: number;
  mode: number;
  owner: Owner;
  entry: Entry;
  ino: number;
}

const manifestHeader = 'tsbuild copy manifest v1';

export function openCopyReuse(opts: CopyReuseOptions): CopyReusePlan {
  const { rootfs, upper } = opts;
  const previous = opts.previous ? readManifest(opts.previous.manifest) : new Map<string, Entry>();
  const entries = new Map<string, Entry>();
  const deferred = new Map<string, Deferred>();
  const upperDirs = new Map<string, boolean>();
  const linkedInodes = new Set<number>();

  const relOf = (dest: string): string | undefined => (dest.startsWith(`${rootfs}/`) ? dest.slice(rootfs.length) : undefined);
  const inUpper = (dir: string): boolean => {
    let known = upperDirs.get(dir);
    if (known === undefined) {
      known = lstatSync(upper + dir, { throwIfNoEntry: false })?.isDirectory() === true;
      // a directory once in the upper dir stays there; one not there yet may come with the next file
      if (known) upperDirs.set(dir, known);
    }
    return known;
  };

  return {
    forget(dest, tree) {
      deferred.delete(dest);
      const rel = relOf(dest);
      if (rel === undefined) return;
      entries.delete(rel);
      if (!tree) return;
      for (const d of deferred.keys()) if (d.startsWith(`${dest}/`)) deferred.delete(d);
      for (const r of entries.keys()) if (r.startsWith(`${rel}/`)) entries.delete(r);
    },
    defer(src, dest, s, mode, owner) {
      const id = identity(s);
      const rel = relOf(dest);
      if (id === undefined || rel === undefined || !opts.previous) return false;
      const before = previous.get(rel);
      if (before === undefined || !before.startsWith(`${id}\t`)) return false;
      const ino = Number(before.slice(id.length + 1));
      if (linkedInodes.has(ino) || !inUpper(dirname(rel))) return false;
      linkedInodes.add(ino);
      // the previous file's inode and metadata are checked once it is linked (finish)
      deferred.set(dest, { rel, src, times: { atimeMs: s.atimeMs, mtimeMs: s.mtimeMs }, size: s.size, mode, owner, entry: before, ino });
      return true;
    },
    copied(dest, s, ino) {
      const rel = relOf(dest);
      const id = identity(s);
      if (rel !== undefined && id !== undefined) entries.set(rel, `${id}\t${ino}`);
    },
    finish() {
      let linked = 0;
      let copied = 0;
      const dirTimes = new Map<string, BigIntStats>();
      for (const d of deferred.values()) {
        const target = upper + d.rel;
        const dir = dirname(target);
        const ds = dirTimes.get(dir) ?? lstatSync(dir, { bigint: true, throwIfNoEntry: false });
        // the copy replaced the directory the file was to go in: it went with it
        if (!ds?.isDirectory()) continue;
        dirTimes.set(dir, ds);
        const done = link(opts.previous!.fs + d.rel, target, d);
        // something was written at its path after it (a dir the copy made there): that stays
        if (done === 'taken') continue;
        if (done === 'linked') {
          entries.set(d.rel, d.entry);
          linked++;
        } else {
          copyRegularFile(d.src, target, d.times, d.mode, d.owner);
          copied++;
        }
      }
      for (const [dir, s] of dirTimes) lutimesSync(dir, seconds(s.atimeNs), seconds(s.mtimeNs));
      writeManifest(opts.manifest, entries);
      return { linked, copied };
    },
  };
}

/**
 * The source's identity from its lstat, or undefined when it changed too recently to be told apart
 * from a next write. Times as milliseconds with a fraction keep a quarter of a microsecond: two
 * states of one inode settled seconds apart differ far more.
 */
function identity(s: Stats): string | undefined {
  if (Date.now() - Math.max(s.mtimeMs, s.ctimeMs) < settleMs) return undefined;
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/**
 * Links the previous file `from` at `to` (where nothing is but maybe a whiteout) and checks it is
 * the inode the manifest names, with the size, mode, owner and mtime the copy would give it.
 * `taken`: something else is at `to`; `failed`: nothing is (the previous result went meanwhile,
 * or it is not what was expected): copy instead.
 */
function link(from: string, to: string, d: Deferred): 'linked' | 'taken' | 'failed' {
  try {
    linkSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return 'failed';
    // the copy removed a lower layer's entry there: a created file replaces its whiteout
    if (!isWhiteoutDevice(lstatSync(to))) return 'taken';
    rmSync(to);
    try {
      linkSync(from, to);
    } catch {
      return 'failed';
    }
  }
  const s = lstatSync(to);
  if (s.isFile() && s.ino === d.ino && s.size === d.size && (s.mode & 0o7777) === d.mode && s.uid === d.owner.uid && s.gid === d.owner.gid && utimeSeconds(s.mtimeMs) === utimeSeconds(d.times.mtimeMs)) return 'linked';
  rmSync(to);
  return 'failed';
}

/**
 * Seconds for utimes, as the double that gave these nanoseconds when they were set from one (a
 * Date's milliseconds come back the same), never rounded up into the next second (a layer keeps seconds).
 */
function seconds(ns: bigint): number {
  const whole = Number(ns / 1_000_000_000n);
  const v = whole + Number(ns % 1_000_000_000n) / 1e9;
  return Math.floor(v) > whole ? whole + 0.999999 : v;
}

/** One line per file: its path as JSON (any byte may be in a name), a tab, its entry. */
function writeManifest(path: string, entries: ReadonlyMap<string, Entry>): void {
  const lines = [manifestHeader];
  for (const [rel, entry] of entries) lines.push(`${JSON.stringify(rel)}\t${entry}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** The manifest of a previous result; empty when missing or not ours to read. */
function readManifest(path: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  const lines = text.split('\n');
  if (lines[0] !== manifestHeader) return out;
  for (let i = 1; i < lines.length; i++) {
    // a JSON string holds no raw tab: the first tab ends the path
    const line = lines[i];
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    let rel: unknown;
    try {
      rel = JSON.parse(line.slice(0, tab));
    } catch {
      continue;
    }
    if (typeof rel === 'string') out.set(rel, line.slice(tab + 1));
  }
  return out;
}
