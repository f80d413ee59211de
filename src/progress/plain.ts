// BuildKit's plain progress, for CI logs: one `#N` block per step, its output lines prefixed with
// the seconds since it started, then DONE/CACHED/ERROR.
import type { Writable } from 'node:stream';
import type { ProgressEvent } from './events.ts';
import { escapeControl } from './terminal-text.ts';

export function createPlainRenderer(out: Writable): (e: ProgressEvent) => void {
  const numbers = new Map<string, number>();
  const started = new Map<string, number>();
  const partial = new Map<string, string>();
  const number = (digest: string) => {
    let n = numbers.get(digest);
    if (n === undefined) {
      n = numbers.size + 1;
      numbers.set(digest, n);
    }
    return n;
  };
  const write = (s: string) => out.write(s);
  const waiting = new Set<string>();
  const flushPartial = (digest: string) => {
    const rest = partial.get(digest);
    if (rest) write(`#${number(digest)} ${rest}\n`);
    partial.delete(digest);
  };
  return (e) => {
    switch (e.type) {
      case 'vertex.started':
        started.set(e.vertex.digest, e.time);
        write(`\n#${number(e.vertex.digest)} ${escapeControl(e.vertex.name)}\n`);
        if (e.reason !== undefined) write(`#${number(e.vertex.digest)} cache miss: ${oneLine(e.reason)}\n`);
        break;
      case 'vertex.cached':
        write(`\n#${number(e.vertex.digest)} ${escapeControl(e.vertex.name)}\n#${number(e.vertex.digest)} CACHED\n`);
        if (e.reason !== undefined) write(`#${number(e.vertex.digest)} cached: ${oneLine(e.reason)}\n`);
        break;
      case 'vertex.log': {
        const n = number(e.vertex.digest);
        const secs = ((e.time - (started.get(e.vertex.digest) ?? e.time)) / 1000).toFixed(3);
        const lines = ((partial.get(e.vertex.digest) ?? '') + e.data).split('\n');
        partial.set(e.vertex.digest, lines.pop() ?? '');
        for (const line of lines) write(`#${n} ${secs} ${line}\n`);
        break;
      }
      case 'vertex.progress':
        // a step another build is running (solver/step-locks.ts): said once, as its result comes as CACHED
        if (e.id === 'shared' && !waiting.has(e.vertex.digest)) {
          waiting.add(e.vertex.digest);
          write(`\n#${number(e.vertex.digest)} ${escapeControl(e.vertex.name)}\n#${number(e.vertex.digest)} ${escapeControl(e.label ?? 'waiting')}\n`);
        }
        break;
      case 'vertex.done':
        flushPartial(e.vertex.digest);
        write(`#${number(e.vertex.digest)} DONE ${elapsed(e.time, started.get(e.vertex.digest))}\n`);
        break;
      case 'vertex.error':
        flushPartial(e.vertex.digest);
        write(`#${number(e.vertex.digest)} ERROR: ${escapeControl(e.message)}\n`);
        break;
      case 'build.warning':
        write(escapeControl(`WARNING: ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.message}`) + '\n');
        break;
      case 'build.done':
        break;
    }
  };
}

/** A reason names context paths, which may hold a newline: it stays one line, so it cannot pass for another step's. */
const oneLine = (text: string) => escapeControl(text).replace(/\n/g, '\\n');

export function elapsed(end: number, start: number | undefined): string {
  return `${((end - (start ?? end)) / 1000).toFixed(1)}s`;
}
