// How many OCI runtimes this process started are still running, for worker/exec (which starts them)
// and worker/file alike: a step that ends while others run unmounts its overlay in a child of the
// syscall helper (snapshot/mount.ts), so the others' requests need not wait behind its sync.

let running = 0;

/** Counts a runtime as running until `closed` settles. */
export function countRuntime(closed: Promise<unknown>): void {
  running++;
  const ended = () => void running--;
  closed.then(ended, ended);
}

export function runtimesRunning(): number {
  return running;
}
