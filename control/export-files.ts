// `--output type=local,dest=DIR` and `type=tar,dest=FILE|-`: the build's filesystem itself rather
// than an image. A tar is written beside its destination and renamed into place, so a failed
// build never leaves half a file; `-` streams to stdout. A directory gets no device nodes: the
// ones left out are returned for a warning.
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { isStreamTarget } from '../exporter/index.ts';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import type { Worker } from '../worker/index.ts';

export async function exportFiles(worker: Worker, snapshot: string | undefined, output: { type: 'local' | 'tar'; dest: string }, signal?: AbortSignal): Promise<{ skippedDevices: string[] }> {
  const none = { skippedDevices: [] };
  try {
    if (output.type === 'local') return await worker.exportRootfs(snapshot, { type: 'dir', dest: output.dest }, { signal });
    if (output.dest === '-') {
      await worker.exportRootfs(snapshot, { type: 'tar', stream: process.stdout }, { signal });
      return none;
    }
    const parent = dirname(output.dest);
    if (!existsSync(parent) || !statSync(parent).isDirectory()) {
      throw new TsbuildError(`--output type=tar: directory ${parent} does not exist`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'not-found' });
    }
    if (isStreamTarget(output.dest)) {
      // /dev/null, a FIFO, a terminal: written straight into, since renaming over one would replace it
      const file = createWriteStream(output.dest, { flags: 'w' });
      await once(file, 'open');
      await worker.exportRootfs(snapshot, { type: 'tar', stream: file }, { signal });
      return none;
    }
    const tmp = `${output.dest}.tsbuild-${process.pid}.tmp`;
    try {
      const file = createWriteStream(tmp);
      // open before mounting anything: an unwritable dest fails here, cleanly
      await once(file, 'open');
      await worker.exportRootfs(snapshot, { type: 'tar', stream: file }, { signal });
      await rename(tmp, output.dest);
      return none;
    } finally {
      await rm(tmp, { force: true });
    }
  } catch (e) {
    if (e instanceof TsbuildError) throw e;
    signal?.throwIfAborted();
    throw new TsbuildError(`writing --output type=${output.type} to ${output.dest} failed: ${e instanceof Error ? e.message : String(e)}`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'unavailable', cause: e });
  }
}

