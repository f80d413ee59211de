// `tsbuild images | head -1`: when the reader of stdout goes away, the write fails with EPIPE. As
// every Unix tool (and docker) does, tsbuild then stops quietly: nothing more can be shown anyway.
// Without this, the stream's unhandled 'error' event ends the process with a stack trace. Any other
// failure (`> /dev/full`: ENOSPC) is one line, `ERROR: cannot write to stdout: …`, and exit 1. A
// build writing an archive to stdout is cancelled instead, so it removes what it made first
// (whileWriting).
//
// Node makes process.stdout and process.stderr on first use, and the first one over a pipe loads
// node:net and makes a socket (~2 ms of a 0.1 s no-change rebuild, whose only output with
// `--progress quiet` is the image ID). So the handler is attached when a stream is made, not by
// making both at the start, and `writeStdio` prints a line through the stream only once it exists,
// else with write(2) on the descriptor (as the stream itself does on Linux: pipes, files and
// terminals are written synchronously there).
import { writeSync } from 'node:fs';

type StdioName = 'stdout' | 'stderr';

let installed = false;
const made = new Set<StdioName>();

export function exitQuietlyOnClosedPipe(): void {
  if (installed) return;
  installed = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    const get = d?.get;
    if (!d || !get || !d.configurable) {
      watch(name, process[name]);
      continue;
    }
    Object.defineProperty(process, name, {
      ...d,
      get() {
        const stream = get.call(process) as NodeJS.WriteStream;
        if (!made.has(name)) watch(name, stream);
        return stream;
      },
    });
  }
}

/** 128 + SIGPIPE: what a shell reports for a tool a closed pipe stopped. */
export const closedPipeExitCode = 141;

/** What stops the command when its stdout or stderr fails, while one is set (whileWriting). */
let onFailure: ((name: StdioName, e: NodeJS.ErrnoException) => void) | undefined;

/**
 * While a command has work to undo (a build: its containers, mounts and partial outputs), a failing
 * stdout or stderr (a closed pipe, a full disk) is handed to `stop` instead of ending the process
 * at once: the build is cancelled, cleans up, and then exits as below. Returns the undo.
 */
export function whileWriting(stop: (name: StdioName, e: NodeJS.ErrnoException) => void): () => void {
  onFailure = stop;
  return () => {
    if (onFailure === stop) onFailure = undefined;
  };
}

/** The one line a failed write to stdout or stderr is reported with (EPIPE says nothing). */
export function stdioFailure(name: StdioName, e: NodeJS.ErrnoException): string {
  return `cannot write to ${name}: ${e.code ?? ''}${e.code ? ': ' : ''}${e.message.replace(/^\w+: /, '').replace(/, write$/, '')}`;
}

function watch(name: StdioName, stream: NodeJS.WriteStream): void {
  made.add(name);
  stream.on('error', (e: NodeJS.ErrnoException) => fail(name, e));
}

function fail(name: StdioName, e: NodeJS.ErrnoException): void {
  if (onFailure) return onFailure(name, e);
  if (e.code === 'EPIPE') process.exit(closedPipeExitCode);
  // nothing to undo: said in one line (to stderr, unless that is what failed), never a stack trace
  if (name === 'stdout') {
    try {
      writeSync(2, `ERROR: ${stdioFailure(name, e)}\n`);
    } catch {
      // stderr is gone too
    }
  }
  process.exit(1);
}

/**
 * Writes `text` to stdout or stderr: through process.stdout/stderr once made, else straight to the
 * descriptor without making the stream. A closed pipe exits with 141 as above; a closed descriptor
 * drops the text, as Node's stream for it does.
 */
export function writeStdio(name: StdioName, text: string): void {
  if (made.has(name) || !installed) {
    process[name].write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(name === 'stdout' ? 1 : 2, bytes, written);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EBADF') return;
    // a non-blocking descriptor that is full (EAGAIN): the stream waits for it
    if (code === 'EAGAIN') return void process[name].write(bytes.subarray(written));
    fail(name, e as NodeJS.ErrnoException);
  }
}

/** process.stderr as a value that makes it only when one of its members is used (a quiet build's progress never does). */
export function lazyStderr(): NodeJS.WriteStream {
  return new Proxy({} as NodeJS.WriteStream, {
    get(_, key) {
      const stream = process.stderr;
      const value: unknown = Reflect.get(stream, key, stream);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(stream) : value;
    },
    set: (_, key, value) => Reflect.set(process.stderr, key, value),
    has: (_, key) => key in process.stderr,
  });
}
