// The host's cgroups as the runtime will use them: which layout (v1, v2 or hybrid: v1 controllers
// beside a controller-less v2 mount, as on this project's CI), where each controller lives, what a
// finished RUN's cgroup says about why it died, and the removal of cgroups a killed tsbuild left.
//
// Each RUN's cgroup is `/tsbuild-<root id>-<snapshot key>` in every hierarchy (runc creates it from
// the spec's cgroupsPath). There is no shared parent cgroup: one would outlive the last RUN of a
// build and race with the next build's mkdir. The root id keeps two state roots apart, so one root's
// start-up recovery never touches another root's running steps.
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootTag } from '../../src/state/index.ts';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface CgroupController {
  /** The root directory of the hierarchy holding the controller. */
  dir: string;
  version: 1 | 2;
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** Enabled controllers by name (memory, cpu, pids, ...). */
  controllers: ReadonlyMap<string, CgroupController>;
  /** Root directories of every mounted hierarchy (v1 ones, named ones such as name=systemd, and v2). */
  hierarchies: readonly string[];
  /** Whether memory+swap can be limited (v1 memory.memsw.*, v2 memory.swap.max). */
  swapLimit: boolean;
}

/** Why a finished RUN's processes died, as counted by its cgroup before removal. */
export interface CgroupEvents {
  /** Processes the OOM killer killed in this cgroup. */
  oomKills: number;
  /** Forks refused at the pids limit. */
  pidsLimitHits: number;
}

const v1Controllers = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc'];

/** Reads the layout from a mountinfo text; `readFile` reads cgroup.controllers and memsw files. */
export function parseCgroupLayout(mountinfo: string, readFile: (path: string) => string | undefined): CgroupLayout {
  const controllers = new Map<string, CgroupController>();
  const hierarchies: string[] = [];
  let v1 = false;
  let v2Dir: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0) continue;
    const fstype = fields[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const dir = fields[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (hierarchies.includes(dir)) continue;
    hierarchies.push(dir);
    if (fstype === 'cgroup2') {
      v2Dir ??= dir;
      continue;
    }
    v1 = true;
    for (const opt of (fields[dash + 3] ?? '').split(',')) if (v1Controllers.includes(opt)) controllers.set(opt, { dir, version: 1 });
  }
  if (v2Dir !== undefined) {
    // a controller bound to a v1 hierarchy is listed as unavailable in v2, but be explicit: v1 wins
    for (const name of (readFile(join(v2Dir, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean)) {
      if (!controllers.has(name)) controllers.set(name, { dir: v2Dir, version: 2 });
    }
  }
  const mode: CgroupMode = v1 && v2Dir !== undefined ? 'hybrid' : v2Dir !== undefined ? 'v2' : 'v1';
  const memory = controllers.get('memory');
  // v2 children get memory.swap.max whenever swap accounting is on; the root has no such file to probe
  const swapLimit = memory !== undefined && (memory.version === 2 || readFile(join(memory.dir, 'memory.memsw.limit_in_bytes')) !== undefined);
  return { mode, controllers, hierarchies, swapLimit };
}

/** This host's layout, read now (a few small files under /proc and /sys). */
export function detectCgroups(): CgroupLayout {
  return parseCgroupLayout(readQuiet('/proc/self/mountinfo') ?? '', readQuiet);
}

let layout: CgroupLayout | undefined;

/**
 * The layout as detectCgroups reads it, read once per process: a step needs it for its cgroup's
 * path and removal, and reading /proc/self/mountinfo for every step (longer with each mount on a
 * busy host) told it nothing new. Hierarchies are mounted at boot, not while a build runs.
 */
export function hostCgroups(): CgroupLayout {
  return (layout ??= detectCgroups());
}

/** `tsbuild-<root id>-`: the name prefix of every cgroup of this state root. */
export function cgroupPrefix(stateRoot: string): string {
  return `tsbuild-${rootTag(stateRoot, 12)}-`;
}

/** The spec's cgroupsPath of one RUN: its own cgroup at the top of each hierarchy. */
export function runCgroupPath(stateRoot: string, key: string): string {
  return `/${cgroupPrefix(stateRoot)}${key}`;
}

/** What the cgroup counted (0 where a controller or file is missing); read before the runtime removes it. */
export function readCgroupEvents(layout: CgroupLayout, cgroupsPath: string, readFile: (path: string) => string | undefined = readQuiet): CgroupEvents {
  const memory = layout.controllers.get('memory');
  const pids = layout.controllers.get('pids');
  let oomKills = 0;
  if (memory) {
    const file = memory.version === 1 ? 'memory.oom_control' : 'memory.events';
    oomKills = counter(readFile(join(memory.dir, cgroupsPath, file)), 'oom_kill');
  }
  const pidsLimitHits = pids ? counter(readFile(join(pids.dir, cgroupsPath, 'pids.events')), 'max') : 0;
  return { oomKills, pidsLimitHits };
}

function counter(text: string | undefined, name: string): number {
  const m = text?.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : 0;
}

/** Cgroups named with `prefix` in any hierarchy, deepest first (what removal must take in order). */
export function listCgroups(layout: CgroupLayout, prefix: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirQuiet(dir)) if (e.isDirectory()) walk(join(dir, e.name));
    out.push(dir);
  };
  for (const h of layout.hierarchies) {
    for (const e of readdirQuiet(h)) if (e.isDirectory() && e.name.startsWith(prefix)) walk(join(h, e.name));
  }
  return out;
}

/**
 * Removes one RUN's cgroup where the runtime did not: it was killed while creating the container
 * (a Ctrl-C at the very start of a step), before it saved the state `delete` works from.
 */
export async function removeRunCgroup(layout: CgroupLayout, cgroupsPath: string): Promise<void> {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirQuiet(dir)) if (e.isDirectory()) walk(join(dir, e.name));
    found.push(dir);
  };
  for (const h of layout.hierarchies) if (existsSync(join(h, cgroupsPath))) walk(join(h, cgroupsPath));
  if (found.length > 0) await removeCgroups(found);
}

/**
 * Kills what still runs in the cgroups (a step whose tsbuild was killed) and removes them. Only for
 * cgroups nothing live owns: start-up recovery calls it when no other process uses the root.
 * Returns the ones that could not be removed.
 *
 * A killed process leaves its cgroup only once the kernel has torn it down, which under load or in
 * a frozen cgroup takes a while. All the dirs share one wait (up to `waitMs`, default 10 s), tried
 * again together every 50 ms, deepest first: a wait per dir gave up on the first hierarchies
 * (cpu, cpuacct, cpuset) while the process still lived, and it was gone by the time the later ones
 * were tried, leaving those three empty cgroups for good. A frozen cgroup (a runtime's `kill --all`
 * freezes it while it signals, and may be killed before it thaws) is thawed: a frozen process does
 * not die of SIGKILL until then.
 */
export async function removeCgroups(dirs: readonly string[], opts: { waitMs?: number } = {}): Promise<string[]> {
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  let left = [...dirs];
  const failed: string[] = [];
  for (;;) {
    const busy: string[] = [];
    for (const dir of left) {
      thaw(dir);
      for (const pid of (readQuiet(join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      try {
        rmdirSync(dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // EBUSY: a process or a child cgroup still in it; anything else will not change by waiting
        if (code === 'EBUSY') busy.push(dir);
        else if (code !== 'ENOENT') failed.push(dir);
      }
    }
    left = busy;
    if (left.length === 0 || Date.now() > deadline) return [...failed, ...left];
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lets a frozen cgroup's processes run (and so die): v1's freezer.state, v2's cgroup.freeze. */
function thaw(dir: string): void {
  const v1 = readQuiet(join(dir, 'freezer.state'));
  if (v1 !== undefined && v1.trim() !== 'THAWED') writeQuiet(join(dir, 'freezer.state'), 'THAWED');
  if (readQuiet(join(dir, 'cgroup.freeze'))?.trim() === '1') writeQuiet(join(dir, 'cgroup.freeze'), '0');
}

function writeQuiet(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch {
    // removed meanwhile
  }
}

function readQuiet(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readdirQuiet(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
