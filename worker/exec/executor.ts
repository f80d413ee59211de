// Runs one container from a bundle with the OCI runtime, streaming its output as progress events.
// The bundle's rootfs is already mounted; the caller owns it and its cleanup.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunContext } from '../types.ts';
import type { RuntimeSpec } from './spec.ts';
import type { CgroupEvents } from './cgroups.ts';
import type { OciRuntime } from './runtime.ts';
import { specJson } from './resources.ts';
import { openStepLog } from './step-log.ts';
import { startRuntime, type RuntimeFifos, type RuntimeProcess } from './runtime-process.ts';

const execFileP = promisify(execFile);
const tailLines = 10;

export interface RunResult {
  exitCode: number;
  /** The last lines of stdout and stderr interleaved, for the error message. */
  lastLines: string[];
  aborted: boolean;
  /** What the container's cgroup counted (OOM kills, refused forks), when `readEvents` was given. */
  events?: CgroupEvents;
  /** The file holding all of the output (absent when the command never started). */
  logPath?: string;
}

export interface ExecutorOptions {
  runtime: OciRuntime;
  /** The runtime's own state dir (`--root`), so ours never mixes with the host's containers. */
  stateDir: string;
  bundle: string;
  id: string;
  spec: RuntimeSpec;
  ctx: RunContext;
  /**
   * Reads the container's cgroup after it exits and before it is deleted. Given to a runtime that
   * keeps (runc), it runs with --keep (and the container is deleted after); otherwise the runtime
   * deletes it as it exits (crun: read then, the counters are gone with the cgroup).
   */
  readEvents?: () => CgroupEvents;
  /** Where the full output goes (worker/exec/step-log.ts): `<dir>/<name>.log`. */
  log?: { dir: string; name: string };
  /** The runtime's output FIFOs, asked for at the step's start (./runtime-process.ts); default: made in the bundle now. */
  fifos?: RuntimeFifos;
}

export async function runContainer(opts: ExecutorOptions): Promise<RunResult> {
  const { runtime, stateDir, bundle, id, ctx } = opts;
  writeFileSync(join(bundle, 'config.json'), specJson(opts.spec));
  const tail = createTail();
  if (ctx.signal.aborted) return { exitCode: 137, lastLines: [], aborted: true };
  const log = await openStepLog({ dir: opts.log?.dir ?? join(bundle, 'logs'), name: opts.log?.name ?? id, ctx });
  let aborted = false;
  let exited = false;
  // --keep: the container's cgroup stays until the `delete` below, so readEvents can still see why it died.
  // Its own process group: a Ctrl-C in the terminal reaches tsbuild, which stops the container
  // itself, and not runc, which would pass it on to the command
  const keep = opts.readEvents !== undefined && runtime.keeps;
  let child: RuntimeProcess | undefined;
  const onAbort = () => {
    aborted = true;
    void stopContainer({ runtime, stateDir, id, exited: () => exited, killRuntime: () => child?.kill() });
  };
  try {
    child = await startRuntime(runtime, ['--root', stateDir, 'run', ...(keep ? ['--keep'] : []), '--bundle', bundle, id], bundle, opts.fifos);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    // aborted while the runtime was starting: the listener came too late to hear it
    if (ctx.signal.aborted) onAbort();
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      source.on('data', (chunk: Buffer) => {
        const { text, ok } = log.write(stream, chunk);
        tail.push(text);
        if (!ok) {
          source.pause();
          void log.drained().then(() => source.resume());
        }
      });
    }
    const exitCode = await child.closed.finally(() => {
      exited = true;
    });
    return { exitCode, lastLines: tail.lines(), aborted, events: opts.readEvents?.(), logPath: log.path };
  } finally {
    await log.close();
    ctx.signal.removeEventListener('abort', onAbort);
    // `delete --force` kills what may still run and removes the runtime's state and cgroups. Without
    // --keep a container that ran to its end is gone already and its state dir with it: skipping
    // the delete saves a runtime start (~10 ms) on every step
    if (keep || existsSync(join(stateDir, id))) await runRuntime(runtime, ['--root', stateDir, 'delete', '--force', id]).catch(() => undefined);
  }
}

/**
 * Kills the container and waits for its runtime to go. Killing `runc run` itself would orphan the
 * container under PID 1 (its init is runc's child, not ours), so the runtime is asked to kill it,
 * again every 50 ms while the container does not exist yet (the signal came while runc was still
 * creating it); `runc run` then exits and removes the container. Only a runtime that has not
 * exited 10 s on is killed, and the `delete --force` after it stops what it started.
 */
async function stopContainer(opts: { runtime: OciRuntime; stateDir: string; id: string; exited: () => boolean; killRuntime: () => void }): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!opts.exited()) {
    // --all: every process in the container's cgroup, also one that left its pid namespace's init
    const killed = await runRuntime(opts.runtime, ['--root', opts.stateDir, 'kill', '--all', opts.id, 'KILL']).then(() => true, () => false);
    if (killed) return;
    if (Date.now() > deadline) {
      opts.killRuntime();
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runRuntime(runtime: OciRuntime, args: readonly string[]) {
  const cmd = runtime.command(args);
  return execFileP(cmd.file, cmd.args);
}

function createTail() {
  let buf = '';
  return {
    push(data: string) {
      buf = (buf + data).slice(-16384);
    },
    lines: () => buf.replace(/\n$/, '').split('\n').slice(-tailLines).filter((l, i, a) => l !== '' || a.length > 1),
  };
}
