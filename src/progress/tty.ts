// The live view for a terminal, laid out as buildx's: a `[+] Building 3.2s (5/7)` header, one line
// per step with its time on the right (CACHED, ERROR, CANCELED before the name), its status lines
// (`=> => transferring context: 1.20MB`) and the last lines of output of the steps still running
// (`=> => # …`). Redrawn in place every 100 ms at most; the final frame (`FINISHED`) is written
// once, then the warnings summary. `NO_COLOR` (any non-empty value) turns colour off.
import { Chalk, type ChalkInstance } from 'chalk';
import { createLogUpdate } from 'log-update';
import type { Writable } from 'node:stream';
import type { ProgressEvent } from './events.ts';
import { formatBytes, formatWarningSummary, type WarningEvent } from './format.ts';
import type { Renderer } from './plain.ts';
import { escapeControl } from './terminal-text.ts';

type State = 'running' | 'done' | 'cached' | 'error' | 'cancelled';

interface Status {
  text: string;
  current: number;
  total?: number;
  bytes: boolean;
  start: number;
  end?: number;
}

interface Step {
  name: string;
  state: State;
  start: number;
  end?: number;
  tail: string[];
  statuses: Map<string, Status>;
  /** Why it runs (what changed) or, with --explain, why it was cached: shown under the step. */
  reason?: string;
}

/** Output lines kept per running step, as buildx shows them. */
const tailLines = 6;

export interface TtyOptions {
  /** Colour off (NO_COLOR); default: from the environment. */
  noColor?: boolean;
  /** How often the running timers are redrawn, in ms (default 100). */
  interval?: number;
}

export function createTtyRenderer(out: Writable & { columns?: number }, opts: TtyOptions = {}): Renderer {
  const noColor = opts.noColor ?? (process.env.NO_COLOR ?? '') !== '';
  const c: ChalkInstance = new Chalk({ level: noColor ? 0 : 1 });
  const update = createLogUpdate(out as NodeJS.WriteStream, { showCursor: true });
  const steps = new Map<string, Step>();
  const warnings: WarningEvent[] = [];
  const begun = Date.now();
  let closed = false;

  const frame = (final: boolean): string => {
    const width = Math.max(40, out.columns ?? 80);
    const now = Date.now();
    const all = [...steps.values()];
    const finished = all.filter((s) => s.state !== 'running').length;
    const lines = [c.bold(`[+] Building ${seconds(now - begun)} (${finished}/${all.length})${final ? ' FINISHED' : ''}`)];
    for (const s of all) {
      const word = s.state === 'cached' ? 'CACHED ' : s.state === 'error' ? 'ERROR ' : s.state === 'cancelled' ? 'CANCELED ' : '';
      const paint = s.state === 'error' ? c.red : s.state === 'cancelled' ? c.yellow : s.state === 'running' ? (t: string) => t : c.blue;
      lines.push(paint(row(` => ${word}${s.name}`, seconds((s.end ?? now) - s.start), width)));
      if (s.reason !== undefined) lines.push(c.dim(row(` => => ${s.state === 'cached' ? 'cached' : 'cache miss'}: ${s.reason}`, '', width)));
      for (const st of s.statuses.values()) {
        const time = (st.end ?? (s.state === 'running' ? now : (s.end ?? now))) - st.start;
        let bytes = st.bytes && st.current ? ` ${formatBytes(st.current)}${st.total ? ` / ${formatBytes(st.total)}` : ''}` : '';
        // a transfer under way says how fast it goes
        if (bytes && st.end === undefined && s.state === 'running' && time >= 500) bytes += ` ${formatBytes(Math.round((st.current * 1000) / time))}/s`;
        lines.push(paint(row(` => => ${st.text}${bytes}`, seconds(time), width)));
      }
      if (s.state === 'running' || s.state === 'error') for (const t of s.tail) lines.push(c.dim(row(` => => # ${t}`, '', width)));
    }
    return lines.join('\n');
  };
  const draw = () => {
    if (!closed) update(frame(false));
  };
  const ticker = setInterval(draw, opts.interval ?? 100);
  ticker.unref();

  const render = (e: ProgressEvent) => {
    switch (e.type) {
      case 'vertex.started': {
        const prev = steps.get(e.vertex.digest);
        steps.set(e.vertex.digest, { name: e.vertex.name, state: 'running', start: e.time, tail: [], statuses: prev?.statuses ?? new Map(), reason: e.reason });
        break;
      }
      case 'vertex.cached':
        steps.set(e.vertex.digest, { name: e.vertex.name, state: 'cached', start: e.time, end: e.time, tail: [], statuses: new Map(), reason: e.reason });
        break;
      case 'vertex.log': {
        const s = steps.get(e.vertex.digest);
        if (s) s.tail = [...s.tail, ...e.data.split('\n').filter((l) => l.trim() !== '')].slice(-tailLines);
        break;
      }
      case 'vertex.progress': {
        const s = steps.get(e.vertex.digest);
        // a step waiting for another build, and counters that are not bytes, show as the step's timer alone
        if (!s || e.id === 'shared' || (e.unit !== 'bytes' && e.completed === undefined)) break;
        s.statuses.set(e.id, { text: e.label ?? e.id, current: e.current, total: e.total, bytes: e.unit === 'bytes', start: e.started ?? s.statuses.get(e.id)?.start ?? e.time, end: e.completed });
        break;
      }
      case 'vertex.done':
      case 'vertex.error': {
        const s = steps.get(e.vertex.digest);
        if (s) Object.assign(s, { state: e.type === 'vertex.done' ? 'done' : e.cancelled ? 'cancelled' : 'error', end: e.time });
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
      if (closed) return;
      clearInterval(ticker);
      // a build that ended (failed, or cancelled) with steps still under way stopped them
      for (const s of steps.values()) if (s.state === 'running') Object.assign(s, { state: 'cancelled', end: Date.now() });
      update(frame(true));
      update.done();
      closed = true;
      const summary = formatWarningSummary(warnings);
      if (summary) out.write(c.yellow(summary));
    },
  };
}

/** `1.2s`, as buildx's right column. */
const seconds = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;

/** `left` cut to fit, `right` at the right edge: one terminal line, control characters escaped (it is redrawn in place). */
function row(left: string, right: string, width: number): string {
  const room = width - right.length - 1;
  let text = escapeControl(left.replace(/\s+/g, ' '));
  if (text.length > room) text = `${text.slice(0, Math.max(0, room - 1))}…`;
  return right === '' ? text : `${text.padEnd(room)} ${right}`;
}
