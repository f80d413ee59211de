// `tsbuild images | head -1`: when the reader of stdout goes away, the write fails with EPIPE. As
// every Unix tool (and docker) does, tsbuild then stops quietly: nothing more can be shown anyway.
// Without this, the stream's unhandled 'error' event ends the process with a stack trace.
let installed = false;

export function exitQuietlyOnClosedPipe(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // 141 = 128 + SIGPIPE, what a shell reports for a tool a closed pipe stopped
      if (e.code === 'EPIPE') process.exit(141);
      throw e;
    });
  }
}
