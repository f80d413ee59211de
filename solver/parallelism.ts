// How much of a build runs at once, by the kind of work (see docs/scheduling.md).
//
// Steps are unbounded by default, as in BuildKit (its max-parallelism is a worker setting with no
// default): a RUN step's work happens in its container, which the kernel schedules, and while it
// runs tsbuild only waits for it; a step that waits on a sandbox or the network must not keep
// another from starting. The in-process work that does load this machine's CPUs gets a bound of
// its own: layer compression and unpacking (gzip/zstd on libuv's threads) at the CPU count, more
// at once only queues on those threads; content reads for cache keys (context checksums, http
// downloads, git lookups) are I/O, overlapped up to a fixed number so a build with a hundred COPY
// steps does not walk a hundred directory trees at once. `--max-parallelism N` caps all of them.
import { availableParallelism } from 'node:os';

// Enough to hide a registry's or a disk's latency; beyond it reads compete for one disk and the
// main thread that hashes what they read.
const contentReadBound = 8;

/** At once: steps (`maxParallelism` itself), content reads for keys, CPU-heavy jobs (compression, unpacking). */
export interface Parallelism {
  steps: number;
  contentReads: number;
  cpu: number;
}

export function parallelismFor(maxParallelism: number): Parallelism {
  const max = Math.max(1, maxParallelism);
  return { steps: max, contentReads: Math.min(max, contentReadBound), cpu: Math.min(max, availableParallelism()) };
}
