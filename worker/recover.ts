// Start-up recovery: a tsbuild killed mid-build (kill -9, a power cut) leaves containers in the
// runtime's state dir, their cgroups, overlay and bind mounts under <root>/tmp (run-*/rootfs, view-*, rootfs-*),
// bundles and unpack dirs, active snapshot dirs with no row in the metadata db, half-written blobs in
// content/ingest whose writer is gone, and private cache
// mount dirs. The next worker to open the root cleans them, but only when no other live tsbuild
// process uses the root: their tmp dirs and active snapshots look exactly like leftovers.
//
// Who uses a root: each open worker writes `<root>/workers/<pid>.<random>` holding its pid and the
// process start time (so a reused pid is not taken for the dead one), and removes it when it has
// closed, not before: a process killed, or exiting without closing (a third Ctrl-C), leaves it
// behind. The one cleaning holds `<root>/recover.lock` (created exclusively) while it checks and
// cleans; a worker opening meanwhile registers first, then waits for the lock to go, so either the
// cleaner sees it registered and cleans nothing, or the newcomer starts only after the cleaning.
//
// The walk for leftovers (every snapshot dir against the database, mountinfo, cgroups, network
// namespaces, every process's cmdline) grows with the root. It is skipped when it cannot find
// anything: no registration of a dead worker (every earlier one closed) and nothing in the places
// a step fills first (tmp, the runtime's state dir, content/ingest, private cache mounts), which a
// closed worker leaves empty. A dead worker's registration goes only once its leftovers are gone,
// so a recovery cut short is redone by the next worker.
import { execFile } from 'node:child_process';
import { linkSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { openLeases, ownerAlive, startTime, type Database, type StatePaths } from '../src/state/index.ts';
import { unmount } from './snapshot/mount.ts';
import { cgroupPrefix, detectCgroups, listCgroups, removeCgroups } from './exec/cgroups.ts';
import { deleteNetns, listNetns, netnsHelpers, netnsPrefix } from './net/netns.ts';
import { unrecordedDirs } from './snapshot/snapshot-store.ts';
import { recoveryRuntimes } from './exec/runtime.ts';
import { isSeccompCompileContainer, killCreated, killCreatingRuntimes } from './exec/seccomp-bpf.ts';
import { removeShmStateDirs, runtimeStateDirs, shmStatePrefix } from './exec/runtime-state-dir.ts';
import { pidsWhere } from './proc-scan.ts';

const run = promisify(execFile);

/** What a killed worker left behind, as found on disk; `recoverRoot` removes all of it. */
export interface Leftovers {
  /** Container state dirs (`<state dir>/<id>`) in the runtime's state dirs (`<root>/runc`, and the root's dir on /dev/shm: exec/runtime-state-dir.ts). */
  containers: string[];
  /** Mount points at or below `<root>/tmp`, in mount order. */
  mounts: string[];
  /** Paths to remove: everything in tmp, snapshot dirs without a db row, private cache dirs, ingest files of dead processes. */
  paths: string[];
  /** This root's RUN cgroups (worker/exec/cgroups.ts names them), deepest first. */
  cgroups: string[];
  /** This root's `sandbox` network namespaces (/run/netns/tsb-<root tag>-*); their pasta quits with them. */
  netns: string[];
  /** pasta or slirp4netns processes still serving them (slirp4netns keeps its namespace alive). */
  netnsHelpers: number[];
}

export interface RootClaim {
  /** Whether leftovers were looked for and removed (false: another live process uses the root). */
  recovered: boolean;
  /** Ends this worker's use of the root. Idempotent. */
  release(): void;
}

export interface RecoverOptions {
  paths: StatePaths;
  db: Database;
  /** The runtime the worker was told to use; runc and crun are tried as well. */
  runtime?: string;
  /** How long to wait for another process's cleaning to finish; default 60 s. */
  waitMs?: number;
}

/** Registers this worker as a user of the root and, when it is the only live one, removes what killed workers left. */
export async function recoverRoot(opts: RecoverOptions): Promise<RootClaim> {
  const { root } = opts.paths;
  const workersDir = join(root, 'workers');
  mkdirSync(workersDir, { recursive: true });
  const me = `${process.pid}.${randomBytes(6).toString('hex')}`;
  const mine = join(workersDir, me);
  // written aside and renamed, so no one reads a half-written registration as a dead worker's
  writeFileSync(join(workersDir, `.${me}`), identity(process.pid));
  renameSync(join(workersDir, `.${me}`), mine);
  let released = false;
  const claim = (recovered: boolean): RootClaim => ({
    recovered,
    release() {
      if (released) return;
      released = true;
      rmQuiet(mine);
    },
  });

  const lock = join(root, 'recover.lock');
  // the lock appears with its holder written (a link to a full file): an exclusive create and a
  // write let a start reading between the two take the empty lock for a dead holder's, remove it
  // and go on while the holder was cleaning what the newcomer then made
  const myLock = join(workersDir, `.lock-${me}`);
  writeFileSync(myLock, identity(process.pid), { mode: 0o600 });
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  for (;;) {
    try {
      linkSync(myLock, lock);
      rmQuiet(myLock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        rmQuiet(myLock);
        throw e;
      }
    }
    const holder = readQuiet(lock);
    if (holder !== undefined && !alive(holder)) {
      rmQuiet(lock);
      continue;
    }
    // another process is cleaning (or checking): it will see us registered, so nothing is left for us
    if (Date.now() > deadline || (await lockGone(lock))) {
      rmQuiet(myLock);
      return claim(false);
    }
  }
  try {
    // a lease whose process is gone (or that expired) holds nothing any more; safe while others run
    openLeases(opts.db).dropStale();
    let others = false;
    const dead: string[] = [];
    for (const name of readdirSync(workersDir)) {
      if (name === me) continue;
      // a registration or lock being written (`.<pid>.<random>`, `.lock-<pid>.<random>`): a dead
      // writer's goes with the dead registrations
      if (name.startsWith('.')) {
        const pid = /^\.(?:lock-)?(\d+)\./.exec(name)?.[1];
        if (pid !== undefined && !alive(pid)) dead.push(join(workersDir, name));
        continue;
      }
      const content = readQuiet(join(workersDir, name));
      if (content === undefined) continue;
      if (alive(content)) others = true;
      else dead.push(join(workersDir, name));
    }
    if (others) return claim(false);
    if (dead.length === 0 && nothingPending(opts.paths)) return claim(true);
    await removeLeftovers(findLeftovers(opts.paths, opts.db), opts);
    for (const path of dead) rmQuiet(path);
    return claim(true);
  } finally {
    rmQuiet(lock);
  }
}

/**
 * Whether the places a step fills first are empty: the temp dir (every mount, bundle and unpack
 * dir lives there), the runtime's container state, content/ingest (of dead writers) and private
 * cache mounts. A few readdirs of small dirs.
 */
function nothingPending(paths: StatePaths): boolean {
  const cgroups = cgroupPrefix(paths.root);
  return (
    listQuiet(paths.tmp).length === 0 &&
    // a killed worker's dir on /dev/shm, even empty (its runtime, left running, may make it again as it ends)
    runtimeStateDirs(paths.root).length === 1 &&
    listQuiet(join(paths.root, 'runc')).length === 0 &&
    !listQuiet(join(paths.content, 'ingest')).some((n) => !ownerAlive(n)) &&
    !listQuiet(join(paths.root, 'cache-mounts')).some((n) => n.startsWith('private-')) &&
    // a step's cgroup its closed worker could not remove (a killed process still in it past
    // removeCgroups' wait, under load): no other mark of it is left, so it is looked for here
    !detectCgroups().hierarchies.some((h) => listQuiet(h).some((n) => n.startsWith(cgroups)))
  );
}

/** The state dirs of this root's containers, wherever their runtime kept them (`<dir>/<id>`). */
function listContainers(root: string): string[] {
  return runtimeStateDirs(root).flatMap((d) => listQuiet(d).map((id) => join(d, id)));
}

/** Lists what a killed worker may have left under the root (reads only). */
export function findLeftovers(paths: StatePaths, db: Database): Leftovers {
  const containers = listContainers(paths.root);
  // mountinfo has canonical paths: the root may sit below a symlink
  const tmp = realpathQuiet(paths.tmp);
  const mounts = mountPoints().filter((m) => m === tmp || m.startsWith(`${tmp}/`));
  const out = [
    ...listQuiet(paths.tmp).map((n) => join(paths.tmp, n)),
    // active snapshots of a killed process: snapshot dirs without a record
    ...unrecordedDirs(paths.snapshots, db),
    // a private cache mount's dir is thrown away on release (worker/exec/cache-mounts.ts)
    ...listQuiet(join(paths.root, 'cache-mounts')).filter((n) => n.startsWith('private-')).map((n) => join(paths.root, 'cache-mounts', n)),
    // a blob half written (content store temp files are named by their owner, src/state/process-identity.ts)
    ...listQuiet(join(paths.content, 'ingest')).filter((n) => !ownerAlive(n)).map((n) => join(paths.content, 'ingest', n)),
  ];
  const prefix = netnsPrefix(paths.root);
  return {
    containers, mounts, paths: out,
    cgroups: listCgroups(detectCgroups(), cgroupPrefix(paths.root)),
    netns: listNetns(prefix), netnsHelpers: netnsHelpers(prefix),
  };
}

async function removeLeftovers(found: Leftovers, opts: RecoverOptions): Promise<void> {
  const stateDir = join(opts.paths.root, 'runc');
  const runtimes = recoveryRuntimes(opts.runtime);
  // A runtime the killed worker started may still be creating its container: its state and cgroup
  // could appear after they were listed, and nothing would remove them (seen as an empty step
  // cgroup left after CI). It is stopped first, then containers and cgroups are listed again.
  const creating = await stopOrphanedRuntimes(opts.paths);
  const left = creating ? { ...found, containers: listContainers(opts.paths.root), cgroups: listCgroups(detectCgroups(), cgroupPrefix(opts.paths.root)) } : found;
  for (const state of left.containers) {
    const id = basename(state);
    // the seccomp program's container has no cgroup, and delete does not kill it (worker/exec/seccomp-bpf.ts)
    if (isSeccompCompileContainer(id)) killCreated(state);
    // delete --force kills a container still running (its runtime parent died with us) and drops its state
    for (const rt of runtimes) {
      const cmd = rt.command(['--root', dirname(state), 'delete', '--force', id]);
      const ok = await run(cmd.file, cmd.args).then(() => true, () => false);
      if (ok) break;
    }
  }
  killCreatingRuntimes(stateDir);
  // killed workers' runtime state dirs on /dev/shm, once their containers are deleted (one holding a
  // container no runtime could delete stays for the next start)
  removeShmStateDirs(opts.paths.root);
  // `delete` removed the cgroups of the containers the runtime knew; these are the rest (a runtime
  // killed before it saved its state, or one still running a step when we were killed)
  await removeCgroups(left.cgroups);
  // after the containers: none is left inside; pasta sees the name go and exits
  for (const name of left.netns) await deleteNetns(name);
  for (const pid of left.netnsHelpers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone with its namespace
    }
  }
  // the last mounted first: a view's mount may sit on top of another
  for (const m of [...left.mounts].reverse()) await unmount(m);
  const stillMounted = mountPoints();
  for (const p of left.paths) {
    // never rm -rf through a mount we could not remove: it may be a bind of something precious
    const real = realpathQuiet(p);
    if (stillMounted.some((m) => m === real || m.startsWith(`${real}/`))) continue;
    rmSync(p, { recursive: true, force: true });
  }
}

/**
 * SIGKILLs the `run` and `create` processes of runtimes working in this root's state dirs (`runc/`,
 * or a step's own under `tmp/` when its env holds a secret): their worker is dead, as recovery
 * runs only when no live process uses the root. Waits until they are gone: what they made is then
 * all there, a container in the state dir (its process keeps running; `delete --force` stops it)
 * or a cgroup, which the caller lists afterwards. True when one was found.
 */
async function stopOrphanedRuntimes(paths: StatePaths): Promise<boolean> {
  const stateDir = join(paths.root, 'runc');
  const shmDirs = `/dev/shm/${shmStatePrefix(paths.root)}`;
  const ours = (dir: string | undefined) =>
    dir !== undefined && (dir === stateDir || dir.startsWith(`${paths.tmp}/`) || dir.startsWith(shmDirs));
  const runtimeOf = (args: readonly string[]) => {
    const rootAt = args.indexOf('--root');
    return /(^|\/)(crun|runc)$/.test(args[0] ?? '') && rootAt > 0 && ours(args[rootAt + 1]) && (args.includes('run') || args.includes('create'));
  };
  const pids = pidsWhere(runtimeOf);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  // a SIGKILLed process is gone once the kernel has torn it down: its /proc entry then goes, or
  // stays a zombie (state Z) until its parent, our own dead worker's helper or init, reaps it
  const running = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  // bounded: one stuck in the kernel (D state, a hung disk) must not hang the start; what it makes
  // later is found by the next start, as the cgroup check in nothingPending looks for it
  const until = Date.now() + 10_000;
  for (let left = pids.filter(running); left.length > 0 && Date.now() < until; left = left.filter(running)) await new Promise((r) => setTimeout(r, 20));
  return pids.length > 0;
}

/** Waits 50 ms; whether the lock has gone meanwhile. */
async function lockGone(lock: string): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 50));
  return readQuiet(lock) === undefined;
}

/** Mount points of this mount namespace, in mount order (/proc/self/mountinfo field 5, octal escapes undone). */
function mountPoints(): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** `pid starttime`: the start time (clock ticks since boot, /proc/<pid>/stat field 22) tells a reused pid apart. */
function identity(pid: number): string {
  return `${pid} ${startTime(pid) ?? ''}`.trim();
}

function alive(content: string): boolean {
  const [pidText, start] = content.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists, owned by someone else
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return start === undefined || startTime(pid) === start;
}

function realpathQuiet(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function listQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readQuiet(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
