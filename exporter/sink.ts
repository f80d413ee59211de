// Where an exporter writes files: a tar archive or a directory, both built beside `dest` under a
// temporary name and renamed into place on commit, so a failed export leaves no half-written dest.
// Entry names come only from our own code (digest hex, fixed file names); `safeEntry` still
// refuses anything that could leave the root.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { createBlobFile, type BlobFile } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import { makeDirs } from '../src/fs/index.ts';

export interface Sink {
  addBytes(name: string, data: Buffer): Promise<void>;
  /** Copies a file of known size (a blob in the content store). */
  addFile(name: string, path: string, size: number): Promise<void>;
  /** Copies a stream of `size` bytes (a verified blob stream); the stream's error fails the add, and the output is not committed. */
  addStream(name: string, source: Readable, size: number): Promise<void>;
  /** Renames the finished output onto dest (replacing what was there). */
  commit(): Promise<void>;
  /** Removes the partial output; safe to call after commit (does nothing then). */
  abort(): Promise<void>;
}

function safeEntry(name: string): string {
  if (name.startsWith('/') || name.split('/').some((p) => p === '..' || p === '')) {
    throw new TsbuildError(`refusing to write "${name}": not a plain relative path`, { code: ErrorCodes.PATH_ESCAPE, kind: 'internal' });
  }
  return name;
}

/** A dest that exists and is no regular file or directory (a device, a FIFO, a socket). */
export function isStreamTarget(dest: string): boolean {
  try {
    const s = statSync(dest);
    return !s.isFile() && !s.isDirectory();
  } catch {
    return false;
  }
}

function outputError(dest: string, e: unknown): TsbuildError {
  if (e instanceof TsbuildError) return e;
  return new TsbuildError(`cannot write output ${dest}: ${(e as Error).message}`, { code: ErrorCodes.OUTPUT_FAILED, kind: 'unavailable', cause: e });
}

async function prepareTemp(dest: string): Promise<string> {
  const abs = resolve(dest);
  try {
    await makeDirs(dirname(abs));
  } catch (e) {
    throw outputError(dest, e);
  }
  return join(dirname(abs), `.${basename(abs)}.tsbuild-${randomBytes(4).toString('hex')}`);
}

/** With `signal`, every add after the abort (and the copy under way) fails with its reason. */
export async function openTarSink(dest: string, signal?: AbortSignal): Promise<Sink> {
  // /dev/null, a FIFO, a terminal: written straight into, since renaming over one would replace it
  const direct = isStreamTarget(dest);
  const tmp = direct ? resolve(dest) : await prepareTemp(dest);
  return tarSinkOver(direct ? createWriteStream(tmp) : await newFileStream(tmp, dest), dest, signal, {
    commit: async () => {
      if (!direct) await rename(tmp, resolve(dest));
    },
    abort: async () => {
      if (!direct) await rm(tmp, { force: true });
    },
  });
}

/**
 * A new file written as the content store writes a blob: past its first 16 MiB, from our buffers
 * to the disk (src/content/blob-file.ts). An image archive is mostly its big layers, copied from the
 * store, and through the page cache each 4 KiB took a new page (on this VM, a host fault each).
 */
async function newFileStream(path: string, dest: string): Promise<Writable> {
  let file: BlobFile;
  try {
    file = await createBlobFile(path);
  } catch (e) {
    throw outputError(dest, e);
  }
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      file.write(chunk).then(() => cb(), cb);
    },
    final(cb) {
      file
        .finish(false)
        .then(() => file.close())
        .then(() => cb(), cb);
    },
    destroy(err, cb) {
      file.close().then(
        () => cb(err),
        () => cb(err),
      );
    },
  });
}

/**
 * A tar written into `stream` as it is made (stdout for `dest=-`, a request body for docker
 * load); `label` names it in errors. Ends `stream` when `end` is true (default); an abort
 * destroys it, so its reader sees a truncated archive, never one that looks whole.
 */
export function openStreamTarSink(stream: Writable, label: string, signal?: AbortSignal, opts: { end?: boolean } = {}): Sink {
  return tarSinkOver(stream, label, signal, { commit: async () => {}, abort: async () => {} }, opts.end ?? true);
}

function tarSinkOver(out: Writable, dest: string, signal: AbortSignal | undefined, hooks: { commit(): Promise<void>; abort(): Promise<void> }, end = true): Sink {
  const archive = pack();
  const written = pipeline(archive, out, { end });
  // keep an early write error until someone awaits it, so it never goes unhandled
  written.catch(() => {});
  // fixed mtime: the same image gives a byte-identical archive
  const header = (name: string, size: number) => ({ name: safeEntry(name), size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
  let done = false;
  const addStream: Sink['addStream'] = async (name, source, size) => {
    signal?.throwIfAborted();
    const entry = archive.entry(header(name, size));
    try {
      await pipeline(source, entry, { signal });
    } catch (e) {
      signal?.throwIfAborted();
      throw outputError(dest, e);
    }
  };
  return {
    async addBytes(name, data) {
      signal?.throwIfAborted();
      await new Promise<void>((res, rej) => archive.entry(header(name, data.length), data, (err) => (err ? rej(outputError(dest, err)) : res())));
    },
    addFile: (name, path, size) => addStream(name, createReadStream(path), size),
    addStream,
    async commit() {
      signal?.throwIfAborted();
      archive.finalize();
      try {
        await written;
        await hooks.commit();
        done = true;
      } catch (e) {
        throw outputError(dest, e);
      }
    },
    async abort() {
      if (done) return;
      archive.destroy();
      await written.catch(() => {});
      await hooks.abort();
    },
  };
}

export async function openDirSink(dest: string, signal?: AbortSignal): Promise<Sink> {
  const tmp = await prepareTemp(dest);
  let done = false;
  const target = async (name: string) => {
    const p = join(tmp, safeEntry(name));
    await mkdir(dirname(p), { recursive: true });
    return p;
  };
  const addStream: Sink['addStream'] = async (name, source) => {
    signal?.throwIfAborted();
    try {
      await pipeline(source, createWriteStream(await target(name)), { signal });
    } catch (e) {
      source.destroy();
      signal?.throwIfAborted();
      throw outputError(dest, e);
    }
  };
  return {
    async addBytes(name, data) {
      signal?.throwIfAborted();
      try {
        await writeFile(await target(name), data);
      } catch (e) {
        throw outputError(dest, e);
      }
    },
    addFile: (name, path, size) => addStream(name, createReadStream(path), size),
    addStream,
    async commit() {
      signal?.throwIfAborted();
      const abs = resolve(dest);
      // a directory cannot be renamed over a non-empty one: move the old one aside first
      const old = `${tmp}.old`;
      try {
        const existed = await stat(abs).then(() => true, () => false);
        if (existed) await rename(abs, old);
        await rename(tmp, abs);
        done = true;
        if (existed) await rm(old, { recursive: true, force: true });
      } catch (e) {
        throw outputError(dest, e);
      }
    },
    async abort() {
      if (done) return;
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
