// Runs a short program (`ip netns add`, `pasta`) through the syscall helper (./syscall-helper.ts),
// so Node does not fork itself on a step's path: a parallel build's network namespaces were eight
// forks of a 100 MB Node process, each blocking the event loop (docs/runtime.md). Where there is no
// helper, child_process as before. Either way a failure looks like execFile's: an Error with `code`
// (ENOENT when the program is missing) and the program's `stderr`.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errnoText, LOST, spawnThroughHelper, type ChildExit } from './syscall-helper.ts';

const run = promisify(execFile);

// exec failed in the helper's child (its POSIX::_exit(127)), as a shell says "command not found"
const notFound = 127;
const lostText = 'the syscall helper that started it ended: its exit status is lost';

export interface QuickExecOptions {
  /** Killed (SIGKILL) after this long; the error then says so. */
  timeoutMs?: number;
  /** Where the two small files holding its output go (default: the system's temporary dir). */
  tmpDir?: string;
}

/** Runs `file` with `args` to its end; rejects unless it exits 0. */
export async function quickExec(file: string, args: readonly string[], opts: QuickExecOptions = {}): Promise<void> {
  // plain files, not FIFOs: a program that forks into the background (pasta) keeps them open
  const base = join(opts.tmpDir ?? tmpdir(), `exec-${randomBytes(6).toString('hex')}`);
  const outputs = [`${base}.out`, `${base}.err`];
  for (const f of outputs) closeSync(openSync(f, 'wx', 0o600));
  try {
    let exit: ChildExit | undefined | null = null;
    let onExit: ((e: ChildExit | undefined) => void) | undefined;
    const reply = await spawnThroughHelper({ file, argv: [file, ...args], stdoutFifo: outputs[0], stderrFifo: outputs[1] }, (e) => {
      exit = e;
      onExit?.(e);
    });
    if (reply === undefined) {
      await run(file, [...args], { timeout: opts.timeoutMs });
      return;
    }
    if (reply.errno === LOST) throw failure(file, args, `Command failed: ${file} ${args.join(' ')}: ${lostText}`, undefined, lostText);
    if (reply.pid === undefined) throw failure(file, args, `cannot start ${file}: ${errnoText(reply.errno)}`, 'ENOENT', '');
    const pid = reply.pid;
    const ended = new Promise<ChildExit | undefined>((resolve) => (exit !== null ? resolve(exit) : (onExit = resolve)));
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    }, opts.timeoutMs);
    const status = await ended.finally(() => clearTimeout(timer));
    if (status && status.code === 0 && status.signal === 0) return;
    // the program's own stderr, and when the helper went, that (else the error says nothing of why)
    const stderr = readFileSync(outputs[1], 'utf8') + (status === undefined && !timedOut ? `${lostText}\n` : '');
    const how = timedOut ? `timed out after ${opts.timeoutMs} ms` : status === undefined ? lostText : status.signal ? `killed by signal ${status.signal}` : `exit code ${status.code}`;
    throw failure(file, args, `Command failed: ${file} ${args.join(' ')}: ${how}`, status?.code === notFound ? 'ENOENT' : status?.code, stderr);
  } finally {
    for (const f of outputs) rmSync(f, { force: true });
  }
}

function failure(file: string, args: readonly string[], message: string, code: string | number | undefined, stderr: string): Error {
  return Object.assign(new Error(message), { code, stderr, cmd: [file, ...args].join(' ') });
}
