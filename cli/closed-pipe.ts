// `tsbuild images | head -1`: when the reader of stdout goes away, the write fails with EPIPE. As
// every Unix tool (and docker) does, tsbuild then stops quietly: nothing more can be shown anyway.
// Without this, the stream's unhandled 'error' event ends the process with a stack trace.
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

function watch(name: StdioName, stream: NodeJS.WriteStream): void {
  made.add(name);
  stream.on('error', (e: NodeJS.ErrnoException) => {
    // 141 = 128 + SIGPIPE, what a shell reports for a tool a closed pipe stopped
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
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
    if (code === 'EPIPE') process.exit(141);
    if (code === 'EBADF') return;
    // a non-blocking descriptor that is full (EAGAIN): the stream waits for it
    if (code === 'EAGAIN') return void process[name].write(bytes.subarray(written));
    throw e;
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
