// The OCI runtime's process for one `run`: started by the syscall helper (../syscall-helper.ts)
// where it runs, so Node never forks itself on a step's path, else by child_process.spawn. Either
// way the caller gets the same small handle: its output as two streams, its end, and a way to kill it.
import { spawn } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { errnoText, LOST, mkfifos, spawnThroughHelper, type ChildExit } from '../syscall-helper.ts';
import type { OciRuntime } from './runtime.ts';
import { countRuntime } from '../running-runtimes.ts';

export interface RuntimeProcess {
  stdout: Readable;
  stderr: Readable;
  /** Resolves with the exit code (128 + nothing for a signal, as before: 128) once it exited and both streams ended. */
  closed: Promise<number>;
  /** SIGKILL to the runtime itself (not the container: see stopContainer in ./executor.ts). */
  kill(): void;
}

/** The two FIFOs a runtime started by the helper writes its output to, and their making. */
export interface RuntimeFifos {
  stdout: string;
  stderr: string;
  /** mkfifos' answer: 0 made, an errno, undefined when there is no helper. */
  made: Promise<number | undefined>;
}

/**
 * Asks the helper for the FIFOs in `dir` now: a step asks at its start, so the request rides with
 * its mount's instead of costing a round trip of its own just before the runtime starts.
 */
export function makeRuntimeFifos(dir: string): RuntimeFifos {
  const stdout = join(dir, 'stdout.fifo');
  const stderr = join(dir, 'stderr.fifo');
  const made = mkfifos([stdout, stderr]);
  made.catch(() => undefined);
  return { stdout, stderr, made };
}

/**
 * Starts `runtime` with `args` in a session of its own (a Ctrl-C in the terminal reaches tsbuild,
 * which stops the container itself, and not the runtime, which would pass it on to the command).
 * `fifoDir` is a private dir of the step's where the helper's FIFOs go, unless `fifos` were asked
 * for already (makeRuntimeFifos).
 */
export async function startRuntime(runtime: OciRuntime, args: readonly string[], fifoDir: string, fifos?: RuntimeFifos): Promise<RuntimeProcess> {
  const plan = runtime.helperCommand?.(args);
  if (plan) {
    const { stdout: stdoutFifo, stderr: stderrFifo, made: making } = fifos ?? makeRuntimeFifos(fifoDir);
    const made = await making;
    if (made !== undefined && made !== 0) throw new Error(`cannot make the runtime's output FIFOs in ${fifoDir}: ${errnoText(made)}`);
    if (made === 0) {
      // open before the child starts: the pipe then lives until we have read all of it, and its end
      // (every writer gone) is reported
      const stdout = openFifo(stdoutFifo);
      const stderr = openFifo(stderrFifo);
      // watched from now: a stream with nothing in it closes as soon as the child has gone, which
      // can be before the helper's reply comes in
      const ended = (s: Readable) => new Promise<void>((resolve) => s.once('close', () => resolve()));
      const streamsClosed = Promise.all([ended(stdout), ended(stderr)]);
      let exit: ChildExit | undefined | null = null;
      let onExit: ((e: ChildExit | undefined) => void) | undefined;
      const reply = await spawnThroughHelper({ ...plan, stdoutFifo, stderrFifo }, (e) => {
        exit = e;
        onExit?.(e);
      });
      if (reply?.pid === undefined) {
        stdout.destroy();
        stderr.destroy();
        if (reply?.errno === LOST) throw helperLost(runtime.name);
        if (reply) throw Object.assign(new Error(`cannot start ${runtime.name}: ${errnoText(reply.errno)}`), { code: 'ENOENT' });
      } else {
        const pid = reply.pid;
        const exited = new Promise<ChildExit | undefined>((resolve) => {
          if (exit !== null) resolve(exit);
          else onExit = resolve;
        });
        // the helper gone (killed, OOM) takes the exit status with it: a clear error at once (the
        // caller's `delete --force` then stops the container), not a made-up exit code once it ends
        const closed = exited.then((e) => {
          if (e === undefined) throw helperLost(runtime.name, pid);
          return streamsClosed.then(() => (e.signal !== 0 ? 128 : e.code));
        });
        return counted({
          stdout, stderr, closed,
          kill: () => {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // gone already
            }
          },
        });
      }
    }
  }
  const cmd = runtime.command(args);
  const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const closed = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return counted({ stdout: child.stdout, stderr: child.stderr, closed, kill: () => child.kill('SIGKILL') });
}

/** `p`, counted in runtimesRunning (../running-runtimes.ts) until it ends. */
function counted(p: RuntimeProcess): RuntimeProcess {
  countRuntime(p.closed);
  return p;
}

function helperLost(runtime: string, pid?: number): TsbuildError {
  return new TsbuildError(`the syscall helper that started ${runtime}${pid === undefined ? '' : ` (pid ${pid})`} ended while the step ran: its exit status is lost`, {
    code: ErrorCodes.RUNTIME_UNAVAILABLE,
    kind: 'unavailable',
    hint: 'run the build again (later steps start the runtime without the helper); if the helper was killed by the OOM killer, `dmesg` says so',
  });
}

function openFifo(path: string): Readable {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}
