// buildx's plain progress, for CI logs, line for line: one `#N` block per step (its name, status
// lines such as `#1 transferring dockerfile: 38B done`, output lines prefixed with the seconds since
// it started, then DONE/CACHED/ERROR/CANCELED). Steps running side by side interleave as BuildKit
// does: switching away from an unfinished step writes `#N ...`, coming back repeats its name.
// Warnings are summarised once, at the end.
import type { Writable } from 'node:stream';
import type { ProgressEvent, VertexRef } from './events.ts';
import { formatBytes, formatWarningSummary, oneLine, type WarningEvent } from './format.ts';
import { escapeControl } from './terminal-text.ts';

export interface Renderer {
  render(e: ProgressEvent): void;
  /** Ends the output (the warning summary). Called once. */
  close(): void;
}

export function createPlainRenderer(out: Writable): Renderer {
  const numbers = new Map<string, number>();
  const started = new Map<string, number>();
  const partial = new Map<string, string>();
  const waiting = new Set<string>();
  const warnings: WarningEvent[] = [];
  /** The step whose block is open (its name written, not yet DONE), as BuildKit's `p.current`. */
  let current: VertexRef | undefined;
  let first = true;
  const write = (s: string) => out.write(s);
  const number = (digest: string) => {
    let n = numbers.get(digest);
    if (n === undefined) {
      n = numbers.size + 1;
      numbers.set(digest, n);
    }
    return n;
  };
  /** Makes `v` the open block: closes the other one with `#N ...`, writes `v`'s name. Returns its `#N`. */
  const enter = (v: VertexRef): string => {
    const n = number(v.digest);
    if (current?.digest !== v.digest) {
      if (current) {
        flushPartial(current.digest);
        write(`#${number(current.digest)} ...\n`);
      }
      write(`${first ? '' : '\n'}#${n} ${escapeControl(v.name)}\n`);
      first = false;
      current = v;
    }
    return `#${n}`;
  };
  const leave = (v: VertexRef) => {
    if (current?.digest === v.digest) current = undefined;
  };
  const flushPartial = (digest: string) => {
    const rest = partial.get(digest);
    if (rest) write(`#${number(digest)} ${rest}\n`);
    partial.delete(digest);
  };

  const render = (e: ProgressEvent) => {
    switch (e.type) {
      case 'vertex.started': {
        started.set(e.vertex.digest, e.time);
        const n = enter(e.vertex);
        if (e.reason !== undefined) write(`${n} cache miss: ${oneLine(e.reason)}\n`);
        break;
      }
      case 'vertex.cached': {
        const n = enter(e.vertex);
        write(`${n} CACHED\n`);
        if (e.reason !== undefined) write(`${n} cached: ${oneLine(e.reason)}\n`);
        leave(e.vertex);
        break;
      }
      case 'vertex.log': {
        const n = enter(e.vertex);
        const secs = ((e.time - (started.get(e.vertex.digest) ?? e.time)) / 1000).toFixed(3);
        const lines = ((partial.get(e.vertex.digest) ?? '') + e.data).split('\n');
        partial.set(e.vertex.digest, lines.pop() ?? '');
        for (const line of lines) write(`${n} ${secs} ${line}\n`);
        break;
      }
      case 'vertex.progress':
        // a step another build is running (solver/step-locks.ts): said once, as its result comes as CACHED
        if (e.id === 'shared' && !waiting.has(e.vertex.digest)) {
          waiting.add(e.vertex.digest);
          write(`${enter(e.vertex)} ${escapeControl(e.label ?? 'waiting')}\n`);
        } else if (e.completed !== undefined) {
          write(`${enter(e.vertex)} ${formatStatus(e)}\n`);
        }
        break;
      case 'vertex.done': {
        const n = enter(e.vertex);
        flushPartial(e.vertex.digest);
        write(`${n} DONE ${elapsed(e.time, started.get(e.vertex.digest))}\n`);
        leave(e.vertex);
        break;
      }
      case 'vertex.error': {
        const n = enter(e.vertex);
        flushPartial(e.vertex.digest);
        write(e.cancelled ? `${n} CANCELED\n` : `${n} ERROR: ${escapeControl(e.message)}\n`);
        leave(e.vertex);
        break;
      }
      case 'build.warning':
        warnings.push(e);
        break;
      case 'build.done':
        break;
    }
  };
  return {
    render,
    close() {
      if (current) flushPartial(current.digest);
      write(formatWarningSummary(warnings));
    },
  };
}

/** A completed status line as BuildKit's plain printer writes it: `transferring context: 1.20MB 0.1s done`. */
export function formatStatus(e: Extract<ProgressEvent, { type: 'vertex.progress' }>): string {
  let bytes = '';
  if (e.unit === 'bytes') {
    if (e.total) bytes = ` ${formatBytes(e.current)} / ${formatBytes(e.total)}`;
    else if (e.current) bytes = ` ${formatBytes(e.current)}`;
  }
  const end = e.completed ?? e.time;
  const secs = e.started !== undefined ? (end - e.started) / 1000 : 0;
  const time = secs > 0.01 ? ` ${secs.toFixed(1)}s` : '';
  return `${escapeControl(e.label ?? e.id)}${bytes}${time}${e.completed !== undefined ? ' done' : ''}`;
}

export function elapsed(end: number, start: number | undefined): string {
  return `${((end - (start ?? end)) / 1000).toFixed(1)}s`;
}
