// The copying snapshotter's differ: what changed between a parent's whole tree and a child's,
// written as an overlay upper dir (changed and new entries with their parent dirs, deletions as
// char 0/0 whiteouts), the same form overlayfs itself leaves, so layers come out the same.
//
// What changed is told by ctime, as overlayfs copy-up is triggered by any write: the child's tree
// was copied from the parent's, then the clock was let tick (`since`); every write, chmod, chown,
// touch, rename, link or xattr change afterwards sets an entry's ctime past it. An entry with an
// older ctime is untouched; a directory with an older ctime holds the same names as before. New
// names in a touched directory are compared with the parent (missing, or another type: copied whole,
// since a moved directory keeps its children's ctimes). A touched directory that exists in the
// parent counts as changed when its names, mode or owner differ, not for its mtime alone: the
// runtime creates and removes mount points in it (worker/exec/mount-targets.ts), which must not
// make a layer. (overlayfs would keep a directory whose files were only created and deleted again.)
// A directory made after the copy (its birth time is past `since`) where the parent had an entry
// replaced that entry whole: like overlayfs, which makes a directory created over a whiteout
// opaque, the diff holds it opaque with all it holds, not whiteouts for what it no longer has.
// (A filesystem without birth times reports 0: the diff then lists the whiteouts instead, which
// leaves the same filesystem.)
import { existsSync, lstatSync, mkdirSync, readdirSync, utimesSync, writeFileSync, type BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { opaqueMarker, whiteoutPrefix } from '../layer/layer-tar.ts';
import { copyEntries, runTool } from './tree-copy.ts';
import { setOpaque } from './xattr.ts';

export interface TreeDiffOptions {
  /** The parent's whole tree; undefined: the empty filesystem. */
  lower: string | undefined;
  /** The child's whole tree. */
  upper: string;
  /** The upper tree's ctime clock when the copy was complete (ns). */
  since: bigint;
  /** An empty directory to write the diff into. */
  out: string;
}

export interface TreeDiff {
  /** Entries copied (relative paths, parents first). */
  changed: string[];
  /** Paths that became whiteouts. */
  deleted: string[];
  /** Directories (among `changed`) made anew over an entry of the parent: they hide what was below. */
  opaque: string[];
}

/** Computes the diff (pure reads), see the file comment. */
export function listChanges(opts: Omit<TreeDiffOptions, 'out'>): TreeDiff {
  const { lower, upper, since } = opts;
  const changed: string[] = [];
  const included = new Set<string>();
  const deleted: string[] = [];
  const opaque: string[] = [];
  const include = (rel: string) => {
    const missing: string[] = [];
    for (let p = rel; p !== '.' && p !== '' && !included.has(p); p = dirname(p)) missing.push(p);
    for (const p of missing.reverse()) {
      included.add(p);
      changed.push(p);
    }
  };
  const includeAll = (rel: string) => {
    include(rel);
    const stack = [rel];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      if (!lstatSync(join(upper, dir)).isDirectory()) continue;
      for (const n of readdirSync(join(upper, dir)).sort().reverse()) {
        const child = join(dir, n);
        included.add(child);
        changed.push(child);
        stack.push(child);
      }
    }
  };
  const lowerStat = (rel: string): BigIntStats | undefined => {
    if (lower === undefined) return undefined;
    try {
      return lstatSync(join(lower, rel), { bigint: true });
    } catch {
      return undefined;
    }
  };

  // directories still to look into, as paths relative to the trees ('' is the root)
  const stack: string[] = [''];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const here = lstatSync(join(upper, dir), { bigint: true });
    const touched = here.ctimeNs > since;
    if (dir !== '' && lower !== undefined && here.birthtimeNs > since) {
      // on the stack, so the parent has a directory here: this one was removed and made again
      includeAll(dir);
      opaque.push(dir);
      continue;
    }
    const names = readdirSync(join(upper, dir)).sort();
    if (touched) {
      const before = lowerStat(dir);
      if (before?.isDirectory()) {
        const was = readdirSync(join(lower!, dir));
        const now = new Set(names);
        for (const n of was.sort()) if (!now.has(n)) deleted.push(join(dir, n));
        const same = was.length === names.length && was.every((n) => now.has(n)) && before.mode === here.mode && before.uid === here.uid && before.gid === here.gid;
        if (!same && dir !== '') include(dir);
      }
    }
    const subdirs: string[] = [];
    for (const n of names) {
      const rel = join(dir, n);
      const s = lstatSync(join(upper, rel), { bigint: true });
      if (touched) {
        const before = lowerStat(rel);
        if (!before || fileType(before) !== fileType(s)) {
          includeAll(rel);
          if (before && s.isDirectory()) opaque.push(rel);
          continue;
        }
      }
      // a directory decides for itself when its turn comes (above)
      if (s.isDirectory()) subdirs.push(rel);
      else if (s.ctimeNs > since) include(rel);
    }
    stack.push(...subdirs.reverse());
  }
  return { changed, deleted, opaque };
}

/** Writes the diff of `upper` against `lower` into `out` and returns what it holds. */
export async function diffTrees(opts: TreeDiffOptions): Promise<TreeDiff> {
  const diff = listChanges(opts);
  // whiteouts first: the tar extraction then sets the directories' times last
  for (const p of diff.deleted) mkdirSync(join(opts.out, dirname(p)), { recursive: true });
  await makeWhiteouts(diff.deleted.map((p) => join(opts.out, p)));
  await copyEntries(opts.upper, opts.out, diff.changed);
  for (const p of diff.opaque) await markOpaque(join(opts.out, p));
  return diff;
}

/** Overlay's opaque marker on `dir`, or OCI's `.wh..wh..opq` file where the filesystem refuses it. */
async function markOpaque(dir: string): Promise<void> {
  const ok = await setOpaque(dir).then(() => true, () => false);
  if (ok) return;
  const { atime, mtime } = lstatSync(dir);
  writeFileSync(join(dir, opaqueMarker), '', { mode: 0o644 });
  // the marker is no change of the directory's: keep its time as the step left it
  utimesSync(dir, atime, mtime);
}

/**
 * Creates char 0/0 devices, overlay's whiteouts, at `paths` (whose parents exist). A filesystem that
 * refuses them (overlayfs itself, a user namespace) gets OCI's form, an empty `.wh.NAME` file, which
 * tree-apply.ts and the layer tar read as well.
 */
export async function makeWhiteouts(paths: readonly string[]): Promise<void> {
  // one shell per batch rather than one mknod per exec: deleting a big tree makes many
  for (let i = 0; i < paths.length; i += 500) {
    const batch = paths.slice(i, i + 500);
    const ok = await runTool('sh', ['-c', 'for f do mknod -- "$f" c 0 0 || exit 1; done', 'sh', ...batch], undefined, 'write whiteouts').then(() => true, () => false);
    if (ok) continue;
    for (const p of batch) {
      if (!existsSync(p)) writeFileSync(join(dirname(p), whiteoutPrefix + basename(p)), '', { mode: 0o644 });
    }
  }
}

function fileType(s: BigIntStats): bigint {
  return s.mode & 0o170000n;
}
