// `--output type=local,dest=DIR` and `type=tar,dest=FILE|-`: the build's filesystem itself rather
// than an image. A tar is written beside its destination and renamed into place, so a failed
// build never leaves half a file; `-` streams to the caller's stdout (the CLI passes its own; a
// build without one refuses `-`). A directory gets no device nodes: the ones left out are
// returned for a warning.
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { isStreamTarget } from '../exporter/index.ts';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import type { Worker } from '../worker/index.ts';

export interface ExportFilesOptions {
  signal?: AbortSignal;
  /** Where `dest=-` streams. */
  stdout?: Writable;
}

export async function exportFiles(worker: Worker, snapshot: string | undefined, output: { type: 'local' | 'tar'; dest: string }, opts: ExportFilesOptions = {}): Promise<{ skippedDevices: string[] }> {
  const none = { skippedDevices: [] };
  const { signal } = opts;
  try {
    if (output.type === 'local') return await worker.exportRootfs(snapshot, { type: 'dir', dest: output.dest }, { signal });
    if (output.dest === '-') {
      if (!opts.stdout) throw new TsbuildError(`--output type=tar,dest=-: this build has no stdout to write to`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'invalid', hint: 'name a file: dest=out.tar' });
      await worker.exportRootfs(snapshot, { type: 'tar', stream: opts.stdout }, { signal });
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

