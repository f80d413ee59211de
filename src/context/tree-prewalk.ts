// A walk of the build context started as soon as its directory is known, beside the start-up
// (loading the CLI, opening the state root, parsing the Dockerfile), so a no-change rebuild of a
// big context no longer waits for 20,000 lstat calls on its one thread: `find` makes them on the
// other core, its listing goes to an unlinked temp file (a pipe would stall it while Node is busy),
// and the build hashes the listing when its first context read comes (./checksum.ts).
//
// The hash is a second fingerprint of a read (./read-fingerprints.ts): every entry's type, mode,
// owner, (dev, inode), size, mtime and ctime, as find prints them, for the whole tree rather than
// the read's selection. A superset is safe: what a read selects is in it, so a change there changes
// it; a change elsewhere (an excluded log, the Dockerfile) only makes it miss, and the read's own
// fingerprint is then walked as before. The listing's order is find's (the directories' own): an
// unchanged directory lists the same way, and a different order is one more miss, not a wrong hit.
//
// A context is walked so only when a state root has seen a read of it with at least
// `prewalkMinEntries` entries (a marker file per directory holding the biggest read's entries): a
// small one is walked in a few milliseconds, less than starting find costs Node (a fork of the
// whole process). A walk that lists more than twice that (a big tree no read selects) drops the
// marker: one build waits for it, the next ones walk their reads themselves again.
//
// Directories the .dockerignore excludes by a literal path (`node_modules`, `**/.git`) are pruned,
// so a context's big excluded trees are not walked; a read uses the hash only when it excludes
// at least those and re-includes nothing (no `!` pattern).
//
// The walk can start before the CLI is loaded: bin/tsbuild.js starts the one the state root's
// `context-walks/early.json` names for a `build` of the directory its last argument names (the
// arguments of this directory's last walk, kept there by startTreePrewalk), and hands it over in a
// global (takeEarlyWalk). It is used only when its arguments are the ones startTreePrewalk makes
// now (the same directory, the same prunes): any other (a .dockerignore changed, argv guessed
// wrong) is killed and the walk started here. The bin splits it over the cores (its splitWalk): its
// own listing of the tree's top, then its finds' listings in order, are the walk's, hashed as one.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

export interface TreePrewalk {
  /** The directory walked, as given. */
  readonly dir: string;
  /** When the walk began (ms since the epoch): its entries' stat data is from this time on. */
  readonly startedMs: number;
  /** The exclude patterns whose directories were not walked. */
  readonly pruned: readonly string[];
  /**
   * The sha256 hex of the listing, or undefined when the walk failed (an unreadable directory, an
   * entry gone while it ran) or `signal` aborted first.
   */
  hash(signal?: AbortSignal): Promise<string | undefined>;
  /** Stops the walk if it still runs and lets go of its file. Idempotent. */
  dispose(): void;
}

// findutils: %m is the permission bits with set-id and sticky (mode & 07777), %T@ and %C@ keep
// the nanoseconds; the path comes last and ends at a NUL, the one byte no name holds
const format = '%y %m %U %G %D %i %s %T@ %C@ %P\\0';

export interface PrewalkOptions {
  /** The entries of the biggest read of `dir` seen (prewalkWanted): a tree much bigger than that calls `onTooBig`. */
  reads?: number;
  /**
   * The walk listed more than twice `reads` (+1,000) entries: most of what find walks no read
   * selects (a big tree .dockerignore excludes by a pattern that is not pruned, or one no COPY
   * names), and waiting for it costs more than the reads' own walks. Its hash still stands.
   */
  onTooBig?: () => void;
  /** The walk bin/tsbuild.js started (takeEarlyWalk): taken over when it runs the arguments this one would, else killed. */
  early?: EarlyWalk;
  /** The state root whose `context-walks/early.json` keeps this walk's arguments, for bin/tsbuild.js to start it next time. */
  stateRoot?: string;
}

/** A walk bin/tsbuild.js started before the CLI loaded (its startEarlyWalk), handed over in a global. */
export interface EarlyWalk {
  /** The context directory (resolved), as in `args`. */
  readonly dir: string;
  /** find's arguments for the whole walk, as startTreePrewalk makes them. */
  readonly args: readonly string[];
  /** The listing of the tree's top the bin made itself (bin/tsbuild.js splitWalk), hashed first; '' when it was not split. */
  readonly head: string;
  /** The unlinked temp files the finds write their listings to: the rest of the walk's listing, in this order. */
  readonly fds: readonly number[];
  readonly children: readonly ChildProcess[];
  /** When the finds were started (ms since the epoch). */
  readonly startedMs: number;
  /** Whether every find ended with status 0. */
  readonly exited: Promise<boolean>;
}

// bin/tsbuild.js's earlyWalkKey
const earlyWalkKey = Symbol.for('tsbuild.early-walk');

/** The walk bin/tsbuild.js started for this process, if it did and nobody took it yet (a second call gets undefined). */
export function takeEarlyWalk(): EarlyWalk | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const walk = g[earlyWalkKey] as EarlyWalk | undefined;
  delete g[earlyWalkKey];
  return walk !== undefined && typeof walk === 'object' && Array.isArray(walk.args) && typeof walk.head === 'string' && Array.isArray(walk.fds) && Array.isArray(walk.children) ? walk : undefined;
}

const discarded = new WeakSet<EarlyWalk>();

/** Stops an early walk nobody uses and closes its file. Idempotent. */
export function discardEarlyWalk(walk: EarlyWalk | undefined): void {
  // once: a second close could hit a descriptor the number was given to since
  if (!walk || discarded.has(walk)) return;
  discarded.add(walk);
  for (const child of walk.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const fd of walk.fds) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
  }
}

/** find's arguments for the walk of `dir`, pruning the directories that `excludePatterns` name literally (none when a pattern re-includes). */
function prewalkArgs(dir: string, excludePatterns: readonly string[]): { args: string[]; pruned: string[] } {
  // find tests -name on the directory itself too: `**/app` would prune a context named app whole
  // (an empty listing, the same hash whatever changed), so such a pattern is not pruned
  const root = posix.basename(posix.resolve(dir));
  const pruned = excludePatterns.some((p) => p.trim().startsWith('!')) ? [] : excludePatterns.filter((p) => {
    const literal = prunePath(p);
    return literal !== undefined && !(literal.anyDepth && literal.path === root);
  });
  const prunes = pruned.flatMap((p, i) => {
    const { path, anyDepth } = prunePath(p)!;
    return [...(i > 0 ? ['-o'] : []), ...(anyDepth ? ['-name', path] : ['-path', `${escapeGlob(dir.replace(/\/+$/, ''))}/${path}`])];
  });
  return { args: ['-H', dir, ...(prunes.length > 0 ? ['(', ...prunes, ')', '-prune', '-o'] : []), '-printf', format], pruned };
}

/** Starts walking `dir`, pruning the directories that `excludePatterns` name literally (none when a pattern re-includes). */
export function startTreePrewalk(dir: string, excludePatterns: readonly string[], opts: PrewalkOptions = {}): TreePrewalk {
  const now = Date.now();
  const { args, pruned } = prewalkArgs(dir, excludePatterns);
  if (opts.stateRoot !== undefined) rememberWalk(opts.stateRoot, dir, args);
  const early = opts.early !== undefined && opts.early.dir === dir && sameArgs(opts.early.args, args) ? opts.early : undefined;
  if (!early) discardEarlyWalk(opts.early);
  const startedMs = early?.startedMs ?? now;
  const walk = early ?? spawnWalk(args);
  const { children, exited } = walk;
  let fds = walk.fds;
  let hashed: Promise<string | undefined> | undefined;
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const fd of fds) closeSync(fd);
    fds = [];
  };
  return {
    dir,
    startedMs,
    pruned,
    hash: (signal) => abortable(
      (hashed ??= (async () => {
        // waited for now: the process stays until it ends
        for (const child of children) child.ref();
        const ok = await exited;
        if (!ok || disposed || fds.length === 0) return undefined;
        const { hex, size } = hashFiles(early?.head ?? '', fds);
        if (opts.reads !== undefined && opts.onTooBig && size > minLineBytes * tooMany(opts.reads) && fds.reduce((n, fd) => n + entriesOf(fd), 0) > tooMany(opts.reads)) opts.onTooBig();
        return hex;
      })()),
      signal,
    ),
    dispose,
  };
}

/** find started on `args`, its listing going to an unlinked temp file (nothing is left behind, whatever ends this process). */
function spawnWalk(args: readonly string[]): { fds: number[]; children: ChildProcess[]; exited: Promise<boolean> } {
  const file = join(tmpdir(), `tsbuild-tree-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd = -1;
  try {
    fd = openSync(file, 'wx+', 0o600);
    unlinkSync(file);
    // Debian's findutils by its path: another `find` first on PATH may lack -printf or print it otherwise
    const child = spawn(existsSync('/usr/bin/find') ? '/usr/bin/find' : 'find', args, { stdio: ['ignore', fd, 'ignore'] });
    const exited = new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('exit', (code) => resolve(code === 0));
    });
    // a build that never reads its context does not wait for the walk to end
    child.unref();
    return { fds: [fd], children: [child], exited };
  } catch {
    // no walk (no find, no temp dir): every read walks as before
    return { fds: fd >= 0 ? [fd] : [], children: [], exited: Promise.resolve(false) };
  }
}

const sameArgs = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** `p`, or undefined as soon as `signal` aborts (the caller then sees the abort itself). */
function abortable<T>(p: Promise<T | undefined>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const tooMany = (reads: number) => 2 * reads + 1000;

// a line's fields without its path: type, mode, uid, gid, dev, inode, size, two times of 21 digits, spaces, NUL
const minLineBytes = 60;

/** The entries listed: NULs in the file (only the ones a size above minLineBytes * bound needs counted). */
function entriesOf(fd: number, size = fstatSync(fd).size): number {
  const buf = Buffer.allocUnsafe(Math.min(size, 1024 * 1024) || 1);
  let entries = 0;
  for (let pos = 0; pos < size; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n === 0) break;
    for (let i = buf.indexOf(0); i >= 0 && i < n; i = buf.indexOf(0, i + 1)) entries++;
    pos += n;
  }
  return entries;
}

/** The sha256 of `head` and then the files' bytes one after another, and their total size. */
function hashFiles(head: string, fds: readonly number[]): { hex: string; size: number } {
  const h = createHash('sha256').update(head);
  let total = head.length;
  for (const fd of fds) {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(Math.min(size, 1024 * 1024) || 1);
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    total += size;
  }
  return { hex: h.digest('hex'), size: total };
}

/** Whether a prewalk's hash stands for a read of `dir` with `excludePatterns`: the same directory, and every pruned tree excluded by the read too. */
export function prewalkCovers(prewalk: TreePrewalk, dir: string, excludePatterns: readonly string[]): boolean {
  if (posix.resolve(prewalk.dir) !== posix.resolve(dir)) return false;
  if (prewalk.pruned.length === 0) return true;
  return !excludePatterns.some((p) => p.trim().startsWith('!')) && prewalk.pruned.every((p) => excludePatterns.includes(p));
}

const wildcard = /[*?[\\]/;

/** The path a pattern excludes literally (below the context, or by name at any depth for `**\/name`), if it does. */
function prunePath(pattern: string): { path: string; anyDepth: boolean } | undefined {
  let p = pattern.trim();
  const anyDepth = p.startsWith('**/');
  if (anyDepth) p = p.slice(3);
  p = posix.normalize(`/${p}`).replace(/^\/+|\/+$/g, '');
  if (p === '' || p === '.' || p.startsWith('..') || wildcard.test(p) || (anyDepth && p.includes('/'))) return undefined;
  return { path: p, anyDepth };
}

// find's -path is a glob: a context path with * ? [ \ in it is matched literally
const escapeGlob = (s: string) => s.replace(/[*?[\\]/g, '\\$&');

// ~4.5 ms of lstat calls here, where starting find costs the main thread 1.5-5 ms
export const prewalkMinEntries = 1000;

const markerOf = (stateRoot: string, dir: string) => join(stateRoot, 'context-walks', createHash('sha256').update(posix.resolve(dir)).digest('hex').slice(0, 32));

/**
 * The entries of the biggest read of `dir` this state root has seen, when it was big enough for a
 * prewalk to pay (else undefined). One small file read.
 */
export function prewalkWanted(stateRoot: string, dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(markerOf(stateRoot, dir), 'utf8');
  } catch {
    return undefined;
  }
  const entries = Number(text);
  return Number.isSafeInteger(entries) && entries >= prewalkMinEntries ? entries : undefined;
}

/**
 * Remembers that a read of `dir` walked `entries` entries (when there are enough and more than
 * before), and the walk bin/tsbuild.js is to start for it (its arguments from `excludePatterns`, the
 * .dockerignore's). Never throws. Written here, by the first big read, not by the next build's
 * prewalk: that one would walk unsplit (nothing to take over yet) and keep its hash, which the
 * bin's split walk of the build after it does not match: a no-change rebuild right after an edit
 * then missed once.
 */
export function notePrewalkWanted(stateRoot: string, dir: string, entries: number, excludePatterns: readonly string[] = []): void {
  if (entries < prewalkMinEntries || (prewalkWanted(stateRoot, dir) ?? 0) >= entries) return;
  try {
    mkdirSync(join(stateRoot, 'context-walks'), { recursive: true, mode: 0o700 });
    writeFileSync(markerOf(stateRoot, dir), String(entries));
  } catch {
    // not remembered: the next build walks as this one did
    return;
  }
  const resolved = posix.resolve(dir);
  rememberWalk(stateRoot, resolved, prewalkArgs(resolved, excludePatterns).args);
}

// the directories whose walks early.json keeps, the latest last
const earlyWalksKept = 32;

const earlyFileOf = (stateRoot: string) => join(stateRoot, 'context-walks', 'early.json');

function readEarlyWalks(stateRoot: string): Record<string, string[]> {
  try {
    const walks = (JSON.parse(readFileSync(earlyFileOf(stateRoot), 'utf8')) as { walks?: unknown }).walks;
    return walks !== null && typeof walks === 'object' && !Array.isArray(walks) ? (walks as Record<string, string[]>) : {};
  } catch {
    return {};
  }
}

/** Replaces early.json (atomically: bin/tsbuild.js may read it meanwhile). Never throws. */
function writeEarlyWalks(stateRoot: string, walks: Record<string, string[]>): void {
  const file = earlyFileOf(stateRoot);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(stateRoot, 'context-walks'), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify({ walks }), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** Keeps `args` as the walk of `dir` bin/tsbuild.js starts next time (a write only when they changed). Never throws. */
function rememberWalk(stateRoot: string, dir: string, args: readonly string[]): void {
  const walks = readEarlyWalks(stateRoot);
  const known = Object.hasOwn(walks, dir) ? walks[dir] : undefined;
  if (Array.isArray(known) && sameArgs(known, args)) return;
  delete walks[dir];
  walks[dir] = [...args];
  const dirs = Object.keys(walks);
  for (const old of dirs.slice(0, Math.max(0, dirs.length - earlyWalksKept))) delete walks[old];
  writeEarlyWalks(stateRoot, walks);
}

/** No more prewalks of `dir` on this state root (until a big read is seen again). Never throws. */
export function forgetPrewalk(stateRoot: string, dir: string): void {
  try {
    rmSync(markerOf(stateRoot, dir), { force: true });
  } catch {
    // a marker left: one more prewalk
  }
  const walks = readEarlyWalks(stateRoot);
  const resolved = posix.resolve(dir);
  if (!Object.hasOwn(walks, resolved)) return;
  delete walks[resolved];
  writeEarlyWalks(stateRoot, walks);
}
