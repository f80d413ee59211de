// The content checksum of the paths a copy reads: what makes a cache key follow the files. It
// covers path, type, mode, owner, symlink target and bytes, never timestamps, so `touch` keeps the
// key and the same tree on another machine gives the same key. Mode and owner only where the
// reader says they reach its result (`owner`, `mode`: docs/cache-keys.md).
//
// Which paths: selectSources, the function the worker's copy uses, so a source that is a symlink is
// hashed as its target exactly when the copy follows it. How: the tree is walked in order and each
// entry's part of the hash is queued; file bytes are read with a bounded number of reads in flight
// (or not at all when the file digest cache knows the file), and the parts go into the hash in order.
import { createHash } from 'node:crypto';
import { close as closeFd, lstatSync, open as openFd, read as readFd, readdirSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import type { FileDigestCache } from './file-digest-cache.ts';
import { createIgnoreMatcher, type IgnoreMatcher, type PatternOrigins } from './ignore.ts';
import { fingerprintOf, readIdentity, type ReadFingerprints, type UnsettledEntry } from './read-fingerprints.ts';
import { selectSources } from './sources.ts';
import { prewalkCovers, type TreePrewalk } from './tree-prewalk.ts';

export interface ChecksumOptions {
  /** Whether a source that is itself a symlink is hashed as its target: pass the copy's followSymlinks. Default true (COPY's). */
  followSymlinks?: boolean;
  /** Digests of files by (dev, inode, size, mtime, ctime), so an unchanged file is not read again. */
  cache?: FileDigestCache;
  /** Where the exclude patterns were written, so an excluded source's error names the line. */
  patternOrigins?: PatternOrigins;
  /** The build's cancellation: the walk stops at the next entry, reads under way are aborted. */
  signal?: AbortSignal;
  /** Whether entries' uid:gid count (false: the reader makes them 0:0). Default true. */
  owner?: boolean;
  /** Whether entries' mode bits count (false: an absolute --chmod replaces them). Default true. */
  mode?: boolean;
  /**
   * Sees every part of the hash, in order (./listing.ts makes a per-path listing of them for
   * cache-miss explanations). Not called when `fingerprints` answers the read.
   */
  onPart?: (part: string) => void;
  /** The checksum a read gave last time while its entries' stat data is unchanged (./read-fingerprints.ts); call its settle() when the build ends. */
  fingerprints?: ReadFingerprints;
  /** The context's walk started at start-up (./tree-prewalk.ts): its hash answers a read of the same directory with `fingerprints` before the read's own walk. */
  prewalk?: TreePrewalk;
  /** Told how many entries the read's own fingerprint walked, when it walked (not when the prewalk answered). */
  onWalked?: (entries: number) => void;
}

// Part of a read's identity in `fingerprints`: bump it when the parts hashed below change.
const checksumVersion = 1;

// Reads in flight at once: enough to keep a disk (or the page cache) busy, few enough not to run
// out of file descriptors next to a running build.
const maxInFlight = 32;
// Bytes are read into reused buffers, one per read in flight: a new buffer per file (readFile) left
// ~60 MB of garbage behind on a 200 MB context before the collector caught up (peak RSS).
const chunkSize = 256 * 1024;
const buffers: Buffer[] = [];

/** sha256 (`sha256:<hex>`) over the selected sources of `dir` and everything below them. */
export async function checksumSources(dir: string, src: readonly string[], excludePatterns: readonly string[], opts: ChecksumOptions = {}): Promise<string> {
  try {
    return await checksumOf(dir, src, excludePatterns, opts);
  } catch (e) {
    // a read aborted by the signal fails with a bare AbortError: the build's own reason says why
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw e;
  }
}

async function checksumOf(dir: string, src: readonly string[], excludePatterns: readonly string[], opts: ChecksumOptions): Promise<string> {
  const matcher = createIgnoreMatcher(excludePatterns);
  const hash = createHash('sha256');
  // Parts in order. Consecutive strings are gathered into one element: while a read at the head is
  // pending, the walk goes on through files the stat cache knows, and 20,000 queued elements made
  // every shift() slow (1.8 s of a no-change rebuild whose first file had changed). Gathered, the
  // queue holds at most two elements per read in flight; each part stays whole for `onPart`.
  const queue: (string[] | Promise<string>)[] = [];
  const push = (part: string | Promise<string>) => {
    const last = queue[queue.length - 1];
    if (typeof part !== 'string') queue.push(part);
    else if (Array.isArray(last)) last.push(part);
    else queue.push([part]);
  };
  let inFlight = 0;
  // parts go into the hash joined, ~64 KB at a time: the same bytes as one update per part (two
  // per entry), in a twentieth of the time on a context of small files
  let text = '';
  const take = (part: string) => {
    opts.onPart?.(part);
    text += part;
    if (text.length >= 65_536) {
      hash.update(text);
      text = '';
    }
  };
  const takeAll = (parts: string[]) => {
    for (const p of parts) take(p);
  };
  // without an await while nothing is waited for: a no-change rebuild then walks without a
  // microtask turn per entry
  const ready = () => {
    while (queue.length > 0 && Array.isArray(queue[0])) takeAll(queue.shift() as string[]);
  };
  const drain = async (keep: number) => {
    while (queue.length > 0 && (inFlight > keep || Array.isArray(queue[0]))) {
      const part = queue.shift()!;
      if (Array.isArray(part)) takeAll(part);
      else {
        take(await part);
        inFlight--;
      }
    }
  };
  const selected = selectSources(dir, src, excludePatterns, { allowWildcardEmpty: true, followSymlinks: opts.followSymlinks ?? true, patternOrigins: opts.patternOrigins });
  // a read whose stat data is as last time is answered without a file digest looked up or a part
  // hashed: one lstat per entry. Else it is walked again (the page cache has it by now) and hashed.
  let kept: { read: string; fingerprint: string; unsettled: UnsettledEntry[]; tree?: { read: string; fingerprint: string } } | undefined;
  // the digests the checksum uses for files that had not settled, by host path: checked again at settle()
  let digests: Map<string, string> | undefined;
  if (opts.fingerprints) {
    const read = readIdentity({ version: checksumVersion, dir, src, excludePatterns, followSymlinks: opts.followSymlinks ?? true, owner: opts.owner ?? true, mode: opts.mode ?? true });
    // the whole tree's hash, kept beside the read's own: a superset of what it selects (./tree-prewalk.ts)
    const prewalk = opts.prewalk && prewalkCovers(opts.prewalk, dir, excludePatterns) ? opts.prewalk : undefined;
    const tree = prewalk && (await prewalk.hash(opts.signal));
    const treeRead = `${read}:tree`;
    if (tree !== undefined) {
      const known = opts.fingerprints.get(treeRead, tree);
      if (known !== undefined) return known;
    }
    // entries count as settled from when the prewalk saw them, when there is one: its hash is kept with this read's
    const { fingerprint, unsettled, entries } = fingerprintOf(selected, (abs, rel, visit) => visitTree(abs, rel, matcher, opts.signal, visit), prewalk?.startedMs);
    opts.onWalked?.(entries);
    const known = opts.fingerprints.get(read, fingerprint);
    if (known !== undefined) {
      // the tree's stat data of before this walk, where it is the same, is what the kept checksum was made of
      if (tree !== undefined) opts.fingerprints.set(treeRead, tree, known);
      return known;
    }
    if (unsettled) {
      kept = { read, fingerprint, unsettled, tree: tree === undefined ? undefined : { read: treeRead, fingerprint: tree } };
      digests = new Map(unsettled.filter((e) => e.stat.isFile()).map((e) => [e.abs, '']));
    }
  }
  for (const { rel, host } of selected) {
    push(`source ${rel}\0`);
    for (const part of walk(host, rel, matcher, opts.cache, opts.signal, metaOf(opts), digests)) {
      opts.signal?.throwIfAborted();
      push(part);
      if (typeof part !== 'string') inFlight++;
      if (inFlight >= maxInFlight) await drain(maxInFlight - 1);
      else ready();
    }
  }
  await drain(-1);
  hash.update(text);
  opts.cache?.flush();
  const sum = `sha256:${hash.digest('hex')}`;
  for (const k of kept ? [kept, ...(kept.tree ? [kept.tree] : [])] : []) {
    if (kept!.unsettled.length === 0) opts.fingerprints?.set(k.read, k.fingerprint, sum);
    else opts.fingerprints?.setLater(k.read, k.fingerprint, sum, kept!.unsettled.map((e) => ({ ...e, digest: digests?.get(e.abs) || undefined })));
  }
  return sum;
}

/** An entry's mode and owner as the hash sees them: `-` where the reader says they do not count. */
type EntryMeta = (s: BigIntStats) => string;

function metaOf(opts: ChecksumOptions): EntryMeta {
  const mode = opts.mode ?? true;
  const owner = opts.owner ?? true;
  return (s) => `${mode ? (Number(s.mode) & 0o7777).toString(8) : '-'}\0${owner ? `${s.uid}:${s.gid}` : '-'}`;
}

/** Each entry's part of the hash, in order: a string, or the promise of one while its bytes are read. */
function* walk(abs: string, rel: string, matcher: IgnoreMatcher, cache: FileDigestCache | undefined, signal: AbortSignal | undefined, meta: EntryMeta, digests?: Map<string, string>): Generator<string | Promise<string>> {
  const s = lstatSync(abs, { bigint: true });
  const type = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : 'other';
  yield `${rel}\0${type}\0${meta(s)}\0`;
  if (s.isSymbolicLink()) yield `${readlinkSync(abs)}\0`;
  else if (s.isFile()) {
    const known = cache?.get(s);
    const wanted = digests?.has(abs) === true;
    if (known !== undefined) {
      if (wanted) digests!.set(abs, known);
      yield `${s.size}\0${known}\0`;
    } else {
      const part = fileDigest(abs, s, cache, signal).then((hex) => {
        if (wanted) digests!.set(abs, hex);
        return `${s.size}\0${hex}\0`;
      });
      // awaited in order later; until then a failed read must not count as unhandled
      part.catch(() => {});
      yield part;
    }
  } else if (s.isDirectory()) {
    for (const name of readdirSync(abs).sort()) {
      const childRel = rel === '.' ? name : `${rel}/${name}`;
      if (skipped(abs, name, childRel, matcher)) continue;
      yield* walk(childPath(abs, name), childRel, matcher, cache, signal, meta, digests);
    }
  }
}

// a name in a directory: join() normalizes, which a name from readdir never needs (a tenth of the walk's garbage)
const childPath = (dir: string, name: string) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

// an excluded dir is still walked when an exception may re-include something below it
const skipped = (dir: string, name: string, rel: string, matcher: IgnoreMatcher) => matcher.ignores(rel) && !(matcher.hasExceptions && lstatSync(childPath(dir, name)).isDirectory());

/** The entries `walk` hashes, in its order, each with its lstat as numbers (read fingerprints). */
function visitTree(abs: string, rel: string, matcher: IgnoreMatcher, signal: AbortSignal | undefined, visit: (abs: string, rel: string, s: Stats) => void): void {
  signal?.throwIfAborted();
  const s = lstatSync(abs);
  visit(abs, rel, s);
  if (!s.isDirectory()) return;
  for (const name of readdirSync(abs).sort()) {
    const childRel = rel === '.' ? name : `${rel}/${name}`;
    if (!skipped(abs, name, childRel, matcher)) visitTree(childPath(abs, name), childRel, matcher, signal, visit);
  }
}

/**
 * The sha256 hex of a file's bytes, remembered in the cache. Callbacks rather than a FileHandle's
 * promises: per file one promise instead of a dozen objects, a fifth less garbage on a cold read
 * of 20,000 small files (peak RSS).
 */
function fileDigest(abs: string, s: BigIntStats, cache: FileDigestCache | undefined, signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const buf = buffers.pop() ?? Buffer.allocUnsafe(chunkSize);
    let fd = -1;
    const finish = (err: unknown, hex?: string) => {
      buffers.push(buf);
      const settle = (closeErr?: unknown) => {
        if (err !== undefined || closeErr) return reject(err ?? closeErr);
        cache?.set(s, hex!);
        resolve(hex!);
      };
      if (fd < 0) settle();
      else closeFd(fd, settle);
    };
    const next = () => {
      if (signal?.aborted) return finish(signal.reason);
      readFd(fd, buf, 0, chunkSize, null, (err, bytesRead) => {
        if (err) return finish(err);
        if (bytesRead === 0) return finish(undefined, h.digest('hex'));
        h.update(buf.subarray(0, bytesRead));
        next();
      });
    };
    openFd(abs, 'r', (err, opened) => {
      if (err) return finish(err);
      fd = opened;
      next();
    });
  });
}
