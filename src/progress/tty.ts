// The live view for a terminal: one line per step with its state and time, and the last lines of
// output of the steps still running. Redrawn at most every 100 ms so a chatty RUN costs nothing.
import chalk from 'chalk';
import { createLogUpdate } from 'log-update';
import type { Writable } from 'node:stream';
import type { ProgressEvent } from './events.ts';
import { elapsed } from './plain.ts';
import { escapeControl } from './terminal-text.ts';

interface Step {
  name: string;
  state: 'running' | 'done' | 'cached' | 'error';
  start: number;
  end?: number;
  tail: string[];
  /** Why it runs (what changed) or, with --explain, why it was cached: shown under the step. */
  reason?: string;
}

export function createTtyRenderer(out: Writable & { columns?: number }): { render: (e: ProgressEvent) => void; close: () => void } {
  const update = createLogUpdate(out as NodeJS.WriteStream, { showCursor: true });
  const steps = new Map<string, Step>();
  const warnings: string[] = [];
  const begun = Date.now();
  let timer: NodeJS.Timeout | undefined;

  const draw = () => {
    timer = undefined;
    const width = out.columns ?? 100;
    const now = Date.now();
    const lines = [chalk.bold(`[+] Building ${elapsed(now, begun)}`)];
    for (const s of steps.values()) {
      const time = elapsed(s.end ?? now, s.start);
      const label = s.state === 'cached' ? chalk.blue('CACHED') : s.state === 'error' ? chalk.red('ERROR') : s.state === 'done' ? chalk.green(time) : chalk.yellow(time);
      lines.push(`${s.state === 'running' ? chalk.yellow('=>') : chalk.dim('=>')} ${truncate(s.name, width - 14)} ${label}`);
      if (s.reason !== undefined) lines.push(chalk.dim(` => ${truncate(`${s.state === 'cached' ? 'cached' : 'cache miss'}: ${s.reason}`, width - 5)}`));
      if (s.state === 'running' || s.state === 'error') for (const t of s.tail) lines.push(chalk.dim(` => ${truncate(t, width - 5)}`));
    }
    update([...lines, ...warnings].join('\n'));
  };
  const schedule = () => {
    timer ??= setTimeout(draw, 100);
  };

  const render = (e: ProgressEvent) => {
    switch (e.type) {
      case 'vertex.started':
        steps.set(e.vertex.digest, { name: e.vertex.name, state: 'running', start: e.time, tail: [], reason: e.reason });
        break;
      case 'vertex.cached':
        steps.set(e.vertex.digest, { name: e.vertex.name, state: 'cached', start: e.time, end: e.time, tail: [], reason: e.reason });
        break;
      case 'vertex.log': {
        const s = steps.get(e.vertex.digest);
        if (s) s.tail = [...s.tail, ...e.data.split('\n').filter((l) => l.trim() !== '')].slice(-6);
        break;
      }
      case 'vertex.done':
      case 'vertex.error': {
        const s = steps.get(e.vertex.digest);
        if (s) Object.assign(s, { state: e.type === 'vertex.done' ? 'done' : 'error', end: e.time });
        break;
      }
      case 'build.warning':
        warnings.push(chalk.yellow(escapeControl(`WARNING: ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.message}`)));
        break;
      case 'vertex.progress':
      case 'build.done':
        break;
    }
    schedule();
  };
  return {
    render,
    close() {
      if (timer) clearTimeout(timer);
      draw();
      update.done();
    },
  };
}

/** One line of at most `n` characters, control characters escaped: it is redrawn in place, so it must not move the cursor. */
function truncate(s: string, n: number): string {
  const one = escapeControl(s.replace(/\s+/g, ' '));
  return one.length > n ? `${one.slice(0, Math.max(0, n - 1))}…` : one;
}
