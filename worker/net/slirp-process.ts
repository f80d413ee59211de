// The slirp4netns process of one namespace: started by the syscall helper (../syscall-helper.ts), so
// Node does not fork itself for it (four parallel stages were four forks of the Node process on
// their path: ~5 ms each quiet, 15-30 ms under load), else by child_process as before. slirp4netns
// says it is ready (the namespace configured) by writing "1" to its ready fd and closing it: through
// the helper that fd is its stdout, a FIFO opened here for reading before it starts (it writes
// nothing else there: its messages go to stderr, the log file). Through the helper it also runs in
// a mount namespace of its own (slave), where its --enable-sandbox (pivot_root into an empty tmpfs,
// capabilities dropped) cannot reach the shared /run/netns; started by Node it keeps the host's mounts,
// so only --enable-seccomp. Both handle what a step sends them. Its stdin is a pipe that reads EOF
// once tsbuild (and the helper) are gone, its --exit-fd: a killed build's slirp4netns ends by itself
// rather than waiting under PID 1 for the next start's recovery.
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { errnoText, LOST, mkfifos, spawnThroughHelper, type ChildExit } from '../syscall-helper.ts';

export interface SlirpProcess {
  /** Resolves once the namespace is configured; rejects when slirp4netns ends first or does not start. */
  ready: Promise<void>;
  /** SIGTERM (or `signal`) to slirp4netns, unless it has ended. Idempotent. */
  kill(signal?: NodeJS.Signals): void;
}

/** slirp4netns's `args` (the namespace and the device last) with `flags` before those two. */
export function withFlags(args: readonly string[], flags: readonly string[]): string[] {
  return [...args.slice(0, -2), ...flags, ...args.slice(-2)];
}

/** Starts slirp4netns; its stderr goes to `log` (made here), the ready FIFO (through the helper) to `readyFifo`. */
export async function startSlirp(args: readonly string[], files: { log: string; readyFifo: string }): Promise<SlirpProcess> {
  closeSync(openSync(files.log, 'w', 0o600));
  const made = await mkfifos([files.readyFifo]);
  if (made !== undefined && made !== 0) throw new Error(`cannot make slirp4netns's ready FIFO ${files.readyFifo}: ${errnoText(made)}`);
  if (made === 0) {
    const helped = await startThroughHelper(args, files);
    if (helped) return helped;
  }
  return startWithSpawn(args, files.log);
}

async function startThroughHelper(args: readonly string[], files: { log: string; readyFifo: string }): Promise<SlirpProcess | undefined> {
  // open before the child starts: its "1" and its close (every writer gone) are then both seen
  const fifo = new Socket({ fd: openSync(files.readyFifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  // a read error is the start's failure, never an 'error' event nobody listens to (a crash)
  let fifoError: Error | undefined;
  fifo.on('error', (e) => void (fifoError = e));
  let exit: ChildExit | undefined | null = null;
  let onExit: ((e: ChildExit | undefined) => void) | undefined;
  const reply = await spawnThroughHelper({ file: 'slirp4netns', argv: ['slirp4netns', ...withFlags(args, ['--ready-fd=1', '--exit-fd=0', '--enable-sandbox', '--enable-seccomp'])], stdoutFifo: files.readyFifo, stderrFifo: files.log, ownMountNamespace: true, lifeline: true }, (e) => {
    exit = e;
    onExit?.(e);
  });
  if (reply === undefined) {
    fifo.destroy();
    return undefined;
  }
  if (reply.pid === undefined) {
    fifo.destroy();
    if (reply.errno === LOST) throw new Error('the syscall helper that started slirp4netns ended: its exit status is lost');
    throw Object.assign(new Error(`cannot start slirp4netns: ${errnoText(reply.errno)}`), { code: 'ENOENT' });
  }
  const pid = reply.pid;
  const ended = new Promise<ChildExit | undefined>((resolve) => (exit !== null ? resolve(exit) : (onExit = resolve)));
  const ready = new Promise<void>((resolve, reject) => {
    fifo.once('data', () => resolve());
    // the FIFO closed without a byte: slirp4netns ended (its exit says how)
    fifo.once('close', () => (fifoError ? reject(new Error(`slirp4netns's ready FIFO: ${fifoError.message}`)) : void ended.then((e) => reject(exitError(e)))));
    void ended.then((e) => reject(exitError(e)));
  }).finally(() => fifo.destroy());
  return {
    ready,
    kill: (signal = 'SIGTERM') => {
      if (exit !== null) return;
      try {
        process.kill(pid, signal);
      } catch {
        // gone already
      }
    },
  };
}

function startWithSpawn(args: readonly string[], log: string): SlirpProcess {
  // its log goes to a file, not a pipe: a pipe we stop reading would kill it with SIGPIPE mid-build
  const logFd = openSync(log, 'a');
  // stdin a pipe only this process writes: EOF when it ends, kill -9 included (--exit-fd=0)
  const child = spawn('slirp4netns', withFlags(args, ['--ready-fd=3', '--exit-fd=0', '--enable-seccomp']), { stdio: ['pipe', 'ignore', logFd, 'pipe'], detached: true });
  closeSync(logFd);
  const readyFd = child.stdio[3] as Readable;
  const ready = new Promise<void>((resolve, reject) => {
    readyFd.once('data', () => resolve());
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(exitError({ code: code ?? 0, signal: signal ? 1 : 0 })));
  }).finally(() => {
    // it outlives no build: the pool destroys it, and a killed build's is killed at the next start
    child.removeAllListeners('exit');
    readyFd.destroy();
    // not destroyed: closing it would end slirp4netns; unref'd, it does not keep tsbuild alive
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    child.unref();
  });
  return {
    ready,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // its lifeline's write end: a long-lived process must not keep one fd per sandbox it made
      child.stdin?.destroy();
    },
  };
}

function exitError(e: ChildExit | undefined): Error {
  if (e === undefined) return new Error('the syscall helper that started slirp4netns ended: its exit status is lost');
  if (e.code === 127 && e.signal === 0) return Object.assign(new Error('slirp4netns: command not found'), { code: 'ENOENT' });
  return new Error(e.signal !== 0 ? `slirp4netns was killed by signal ${e.signal}` : `slirp4netns exited with ${e.code}`);
}
