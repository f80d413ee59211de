// A RUN step's output: all of it goes to `<root>/logs/<key>.log` (0600, written as it streams, the
// command's pipes paused while the disk catches up, so memory stays flat), and progress gets at
// most 2 MiB of it, then one notice naming that file. A chatty step can neither flood a CI log nor
// lose its output (clipped logs with no way to the rest are a frequent BuildKit complaint).
//
//   const log = await openStepLog({ dir: env.paths.logs, name: key, ctx });
//   if (!log.write('stdout', chunk)) pause(); log.drained().then(resume);
//   await log.close();
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { RunContext } from '../types.ts';

/** What progress shows of one step, as BuildKit's default (`BUILDKIT_STEP_LOG_MAX_SIZE`). */
export const progressLimit = 2 * 1024 * 1024;
/** What the log file keeps: a step printing without end fills no disk. */
export const fileLimit = 1024 * 1024 * 1024;

export interface StepLog {
  /** The log file (it exists once opened). */
  readonly path: string;
  /**
   * Appends a chunk of the command's output and shows it in progress while under the limit.
   * Returns the chunk as text (for the error's last lines) and false when the file is busy: pause
   * the source until `drained()` resolves.
   */
  write(stream: 'stdout' | 'stderr', chunk: Buffer): { text: string; ok: boolean };
  drained(): Promise<void>;
  /** Flushes and closes the file; never throws. */
  close(): Promise<void>;
}

export async function openStepLog(opts: { dir: string; name: string; ctx: RunContext }): Promise<StepLog> {
  const { ctx } = opts;
  // on the main thread (an existing dir: one syscall), not a round trip through libuv's threads,
  // which waits behind the background removals of earlier steps (docs/runtime.md, stop 20)
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const path = join(opts.dir, `${opts.name}.log`);
  let file: WriteStream | undefined = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  file.on('error', (e) => {
    // a full disk loses the file, never the step: progress still shows the output
    file = undefined;
    ctx.progress.emit({ type: 'build.warning', message: `cannot write the step log ${path}: ${e.message}` });
  });
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  let shown = 0;
  let written = 0;
  let clipped = false;
  // whether what progress showed last ended a line: the notice then needs no newline of its own
  let atLineStart = true;
  let waiting: Promise<void> | undefined;

  const show = (stream: 'stdout' | 'stderr', text: string) => {
    if (clipped || text === '') return;
    const room = progressLimit - shown;
    const bytes = Buffer.byteLength(text);
    if (bytes <= room) {
      shown += bytes;
      atLineStart = text.endsWith('\n');
      ctx.progress.emit({ type: 'vertex.log', vertex: ctx.vertex, stream, data: text });
      return;
    }
    // up to the last whole line that fits, so the notice starts a line of its own
    const head = Buffer.from(text).subarray(0, room).toString('utf8').replace(/\uFFFD$/, '');
    const cut = head.lastIndexOf('\n') + 1;
    if (cut > 0) ctx.progress.emit({ type: 'vertex.log', vertex: ctx.vertex, stream, data: head.slice(0, cut) });
    shown = progressLimit;
    clipped = true;
    ctx.progress.emit({ type: 'vertex.log', vertex: ctx.vertex, stream: 'stderr', data: `${cut > 0 || atLineStart ? '' : '\n'}[output clipped: progress shows ${progressLimit / 1024 / 1024} MiB per step; the full log is in ${path}]\n` });
  };

  return {
    path,
    write(stream, chunk) {
      const text = decoders[stream].write(chunk);
      show(stream, text);
      let ok = true;
      if (file && written < fileLimit) {
        const keep = chunk.subarray(0, fileLimit - written);
        written += keep.length;
        ok = file.write(keep);
        if (written >= fileLimit) ok = file.write(`\n[log clipped at ${fileLimit / 1024 / 1024 / 1024} GiB]\n`) && ok;
      }
      return { text, ok };
    },
    drained() {
      const f = file;
      if (!f || !f.writableNeedDrain) return Promise.resolve();
      // one wait shared by both pipes: a listener per paused chunk would pile up
      return (waiting ??= new Promise<void>((resolve) => {
        const done = () => {
          f.off('drain', done).off('close', done);
          waiting = undefined;
          resolve();
        };
        f.on('drain', done).on('close', done);
      }));
    },
    async close() {
      for (const stream of ['stdout', 'stderr'] as const) show(stream, decoders[stream].end());
      const f = file;
      if (!f) return;
      await new Promise<void>((resolve) => f.end(resolve));
    },
  };
}

/** Keep the logs of the last 1,000 steps and none older than 7 days (until the cache GC owns them). */
export const logRetention = { files: 1000, maxAgeMs: 7 * 24 * 3600 * 1000 };

/** Removes step logs beyond `logRetention`, oldest first. Never throws: a log left is no harm. */
export async function pruneStepLogs(dir: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.log'));
  } catch {
    return 0;
  }
  const files = [];
  for (const name of names) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s?.isFile()) files.push({ name, mtime: s.mtimeMs });
  }
  files.sort((a, b) => b.mtime - a.mtime);
  const old = files.filter((f, i) => i >= logRetention.files || now - f.mtime > logRetention.maxAgeMs);
  for (const f of old) await rm(join(dir, f.name), { force: true }).catch(() => undefined);
  return old.length;
}
