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
import { dirname, join } from 'node:path';
import { isWhiteoutDevice } from '../layer/layer-tar.ts';
import { tarBaseName } from '../layer/tar-reuse.ts';
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
  /** The last committed result of the same step: its name, diff dir and manifest file. */
  previous?: { id: string; fs: string; manifest: string };
}

export interface CopyReusePlan extends CopyReuse {
  /** With `rootfs` unmounted: links the deferred files, copies what cannot be linked, writes the manifest. */
  finish(): { linked: number; copied: number };
}

/**
 * What a deferred file needs once the overlay is unmounted. Kept as numbers and strings in parallel
 * arrays, one slot a file, with its path as the place of its line in the previous manifest: an
 * object, a times object and three path strings a file (destination, path, source) were ~18 MB
 * for 20,000 files held through the COPY, most of a one-file rebuild's live heap at its peak.
 */
interface Deferred {
  src: string;
  times: Pick<Stats, 'atimeMs' | 'mtimeMs'>;
  size: number;
  mode: number;
  owner: Owner;
  ino: number;
}

const manifestHeader = 'tsbuild copy manifest v1';

export function openCopyReuse(opts: CopyReuseOptions): CopyReusePlan {
  const { rootfs, upper } = opts;
  const previous = opts.previous ? readManifest(opts.previous.manifest) : emptyManifest();
  // path → `<source identity>\t<inode written>`, for the files this copy wrote itself
  const entries = new Map<string, string>();
  // the deferred files, slot by slot; a forgotten one's line is -1
  const defLine: number[] = [];
  const defSrc: string[] = [];
  const defOwner: Owner[] = [];
  const defNums: number[] = [];
  const fields = 5;
  // a previous line's deferred slot
  const slotOfLine = new Map<number, number>();
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
  const drop = (slot: number) => {
    slotOfLine.delete(defLine[slot]);
    defLine[slot] = -1;
  };

  return {
    forget(dest, tree) {
      const rel = relOf(dest);
      if (rel === undefined) return;
      const line = previous.lineOf.get(rel);
      const slot = line === undefined ? undefined : slotOfLine.get(line);
      if (slot !== undefined) drop(slot);
      entries.delete(rel);
      if (!tree) return;
      const below = `${rel}/`;
      for (const [line, slot] of slotOfLine) if (pathAt(previous.text, line).startsWith(below)) drop(slot);
      for (const r of entries.keys()) if (r.startsWith(below)) entries.delete(r);
    },
    defer(src, dest, s, mode, owner) {
      const id = identity(s);
      const rel = relOf(dest);
      if (id === undefined || rel === undefined || !opts.previous) return false;
      const line = previous.lineOf.get(rel);
      if (line === undefined) return false;
      const at = previous.text.indexOf('\t', line) + 1;
      if (!previous.text.startsWith(`${id}\t`, at)) return false;
      const ino = Number(previous.text.slice(at + id.length + 1, lineEnd(previous.text, at)));
      if (linkedInodes.has(ino) || !inUpper(dirname(rel))) return false;
      linkedInodes.add(ino);
      // the previous file's inode and metadata are checked once it is linked (finish)
      slotOfLine.set(line, defLine.length);
      defLine.push(line);
      defSrc.push(src);
      defOwner.push(owner);
      defNums.push(s.atimeMs, s.mtimeMs, s.size, mode, ino);
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
      const linkedLines: number[] = [];
      const dirTimes = new Map<string, BigIntStats>();
      for (let slot = 0; slot < defLine.length; slot++) {
        const line = defLine[slot];
        if (line < 0) continue;
        const rel = pathAt(previous.text, line);
        const n = slot * fields;
        const d: Deferred = { src: defSrc[slot], times: { atimeMs: defNums[n], mtimeMs: defNums[n + 1] }, size: defNums[n + 2], mode: defNums[n + 3], owner: defOwner[slot], ino: defNums[n + 4] };
        const target = upper + rel;
        const dir = dirname(target);
        const ds = dirTimes.get(dir) ?? lstatSync(dir, { bigint: true, throwIfNoEntry: false });
        // the copy replaced the directory the file was to go in: it went with it
        if (!ds?.isDirectory()) continue;
        dirTimes.set(dir, ds);
        const done = link(opts.previous!.fs + rel, target, d);
        // something was written at its path after it (a dir the copy made there): that stays
        if (done === 'taken') continue;
        if (done === 'linked') {
          linkedLines.push(line);
          linked++;
        } else {
          copyRegularFile(d.src, target, d.times, d.mode, d.owner);
          copied++;
        }
      }
      for (const [dir, s] of dirTimes) lutimesSync(dir, seconds(s.atimeNs), seconds(s.mtimeNs));
      writeManifest(opts.manifest, entries, linkedLines.map((line) => previous.text.slice(line, lineEnd(previous.text, line))));
      // the files it shares with the last result make that result's tar worth reading (../layer/tar-reuse.ts)
      if (linked > 0) writeFileSync(join(dirname(opts.manifest), tarBaseName), `${opts.previous!.id}\n`);
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

/** One line per file: its path as JSON (any byte may be in a name), a tab, its entry; then the lines kept from the previous manifest as they were. */
function writeManifest(path: string, entries: ReadonlyMap<string, string>, kept: readonly string[]): void {
  const lines = [manifestHeader];
  for (const [rel, entry] of entries) lines.push(`${JSON.stringify(rel)}\t${entry}`);
  for (const line of kept) lines.push(line);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** A previous result's manifest: its text, and where each path's line starts in it. */
interface Manifest {
  text: string;
  lineOf: Map<string, number>;
}

const emptyManifest = (): Manifest => ({ text: '', lineOf: new Map() });

const lineEnd = (text: string, from: number): number => {
  const end = text.indexOf('\n', from);
  return end < 0 ? text.length : end;
};

// a path JSON wrote without escapes: the text between the quotes is the path
const plainJson = /^"[^"\\\u0000-\u001f]*"$/;

/** The path of the line starting at `line` (a valid one: readManifest kept it). */
function pathAt(text: string, line: number): string {
  const json = text.slice(line, text.indexOf('\t', line));
  return plainJson.test(json) ? json.slice(1, -1) : (JSON.parse(json) as string);
}

/** The manifest of a previous result; empty when missing or not ours to read. */
function readManifest(path: string): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return emptyManifest();
  }
  const lineOf = new Map<string, number>();
  let start = text.indexOf('\n') + 1;
  if (start === 0 || text.slice(0, start - 1) !== manifestHeader) return emptyManifest();
  while (start < text.length) {
    const end = lineEnd(text, start);
    // a JSON string holds no raw tab: the first tab ends the path
    const tab = text.indexOf('\t', start);
    if (tab >= 0 && tab < end) {
      const json = text.slice(start, tab);
      let rel: unknown;
      if (plainJson.test(json)) rel = json.slice(1, -1);
      else {
        try {
          rel = JSON.parse(json);
        } catch {
          rel = undefined;
        }
      }
      if (typeof rel === 'string') lineOf.set(rel, start);
    }
    start = end + 1;
  }
  return { text, lineOf };
}
