// Which OCI runtime runs a step, and how it is invoked. crun starts a container ~20 ms sooner than
// runc here (44 vs 64 ms: runc is a Go binary that re-executes itself for each container), so it is
// preferred where it works; runc stays for the steps whose cgroup is read after they exit (a memory
// or pids limit: `runc run --keep` keeps the cgroup until `delete`, crun has no --keep) and as the
// fallback when crun is not installed.
//
// On a hybrid cgroup host (v1 controllers plus a v2 mount at /sys/fs/cgroup/unified, as this
// project's CI) crun refuses to run while that v2 mount has any controller ("cgroups in hybrid mode
// not supported"). It is then started in a mount namespace of its own in which the v2 mount is
// unmounted: crun sees a pure v1 host and puts the container in its own cgroup of every v1
// hierarchy, with the same limits, as runc does. Only that namespace loses the mount; the host keeps
// it. docs/runtime.md says more.
import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, unavailable } from '../../src/errors/index.ts';
import { detectCgroups, type CgroupLayout } from './cgroups.ts';

const run = promisify(execFile);

/** The v2 mount crun looks for on a host whose /sys/fs/cgroup is a tmpfs of v1 hierarchies. */
export const crunUnifiedMount = '/sys/fs/cgroup/unified';

export interface OciRuntime {
  /** The binary: `runc`, `crun` or what the worker was told to use. */
  name: string;
  /** Whether `run --keep` keeps a finished container (and its cgroup) until `delete`: runc's. */
  keeps: boolean;
  /** Whether its state dir holds a copy of config.json, env included (crun's): secrets then keep it off disk. */
  copiesSpec: boolean;
  /** Whether it loads a ready seccomp program from the spec's annotations (crun's, ./seccomp-bpf.ts). */
  takesSeccompBpf?: boolean;
  /** The program and arguments that run the runtime with `args` (global flags first). */
  command(args: readonly string[]): { file: string; args: string[] };
  /** The same for the syscall helper (../syscall-helper.ts), which makes the mount namespace itself. */
  helperCommand?(args: readonly string[]): { file: string; argv: string[]; unmountInOwnNamespace?: string; sealBinary?: string };
}

export interface OciRuntimes {
  /** For every step: crun where it works, else runc. */
  run: OciRuntime;
  /** For a step whose cgroup is read after it exits: one that keeps (runc) when installed, else `run`. */
  keeping: OciRuntime;
}

/** A runtime run as itself. */
export function directRuntime(name: string): OciRuntime {
  const crun = /(^|\/)crun$/.test(name);
  return {
    name, keeps: !crun, copiesSpec: crun, takesSeccompBpf: crun,
    command: (args) => ({ file: name, args: [...args] }),
    helperCommand: crun ? crunHelperCommand(name) : (args) => ({ file: name, argv: [name, ...args] }),
  };
}

/**
 * crun through the syscall helper: found on PATH once, and run from a read-only bind of its binary
 * (HelperSpawn.sealBinary), so it does not copy and re-execute itself for every container.
 */
function crunHelperCommand(name: string, unmountInOwnNamespace?: string): NonNullable<OciRuntime['helperCommand']> {
  let path: string | null | undefined;
  return (args) => {
    if (path === undefined) path = pathOf(name) ?? null;
    const file = path ?? name;
    return { file, argv: [name, ...args], ...(unmountInOwnNamespace !== undefined && { unmountInOwnNamespace }), ...(path !== null && { sealBinary: path }) };
  };
}

/**
 * crun on a hybrid host: `unshare` gives it a mount namespace of its own (slave: what the host
 * mounts later still shows), the shell unmounts the v2 mount there and becomes crun.
 */
export function crunWithoutUnified(name = 'crun'): OciRuntime {
  const script = `umount -l ${crunUnifiedMount} && exec "$0" "$@"`;
  return {
    name, keeps: false, copiesSpec: true, takesSeccompBpf: true,
    command: (args) => ({ file: 'unshare', args: ['--mount', '--propagation', 'slave', 'sh', '-c', script, name, ...args] }),
    helperCommand: crunHelperCommand(name, crunUnifiedMount),
  };
}

/** Whether crun would refuse this layout: hybrid, with controllers enabled in its v2 mount. */
export function crunNeedsOwnMountNamespace(layout: CgroupLayout): boolean {
  return layout.mode === 'hybrid' && layout.hierarchies.includes(crunUnifiedMount);
}

async function works(rt: OciRuntime): Promise<boolean> {
  const { file, args } = rt.command(['--version']);
  try {
    await run(file, args);
    return true;
  } catch {
    return false;
  }
}

/** Whether `cmd` is an executable on PATH: no process started, as this is on the first step's path. */
function onPath(cmd: string): boolean {
  return pathOf(cmd) !== undefined;
}

/** The real path of `cmd` as PATH finds it (itself when it has a slash), or undefined. */
function pathOf(cmd: string): string | undefined {
  const candidates = cmd.includes('/') ? [cmd] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').map((dir) => join(dir || '.', cmd));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * The runtimes: `preferred` for every step when given (and runnable); else crun where installed
 * (through its own mount namespace on a hybrid host) with runc for the steps that need `--keep`;
 * else runc alone.
 */
export async function probeRuntimes(preferred?: string): Promise<OciRuntimes> {
  // crun by name: the same crun auto picks (in its own mount namespace on a hybrid host), runc kept for limits
  if (preferred === 'crun') {
    if (!(onPath('crun') && onPath('unshare'))) throw unavailable(ErrorCodes.RUNTIME_UNAVAILABLE, 'the OCI runtime crun is not installed', { hint: 'apt-get install crun, or choose runc' });
    const crun = crunNeedsOwnMountNamespace(detectCgroups()) ? crunWithoutUnified() : directRuntime('crun');
    return { run: crun, keeping: onPath('runc') ? directRuntime('runc') : crun };
  }
  if (preferred) {
    const rt = directRuntime(preferred);
    if (await works(rt)) return { run: rt, keeping: rt };
    throw unavailable(ErrorCodes.RUNTIME_UNAVAILABLE, `OCI runtime "${preferred}" cannot be run`, { hint: 'install runc, or pass another runtime' });
  }
  const crun = crunNeedsOwnMountNamespace(detectCgroups()) ? crunWithoutUnified() : directRuntime('crun');
  const runc = directRuntime('runc');
  const [crunWorks, runcWorks] = [onPath('crun') && onPath('unshare'), onPath('runc')];
  if (crunWorks) return { run: crun, keeping: runcWorks ? runc : crun };
  if (runcWorks) return { run: runc, keeping: runc };
  throw unavailable(ErrorCodes.RUNTIME_UNAVAILABLE, 'no OCI runtime found: neither crun nor runc is installed', { hint: 'install runc (apt-get install runc)' });
}

/** Every way a container of this root may have been started, for start-up recovery to delete it with. */
export function recoveryRuntimes(preferred?: string): OciRuntime[] {
  const crun = crunNeedsOwnMountNamespace(detectCgroups()) ? crunWithoutUnified() : directRuntime('crun');
  return [...(preferred ? [directRuntime(preferred)] : []), directRuntime('runc'), crun];
}
