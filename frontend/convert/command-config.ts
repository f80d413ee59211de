// CMD, ENTRYPOINT and HEALTHCHECK: the commands an image carries for whoever runs it.
import type { HealthConfig } from '../../src/image/index.ts';
import { goQuote } from '../parser/go-text.ts';
import type { Instruction } from '../parser/ast.ts';
import { instructionError } from './errors.ts';
import { instructionFlags } from './instructions.ts';
import { addHistory, type ConvertContext, type StageState } from './state.ts';

/** Shell form runs through SHELL (default `/bin/sh -c`) with the words joined back together. */
export function withShell(st: StageState, node: Instruction): string[] {
  if (node.json) return [...node.args];
  const shell = st.config.config.Shell?.length ? st.config.config.Shell : ['/bin/sh', '-c'];
  return [...shell, node.args.join(' ')];
}

const quoteList = (args: readonly string[] | null | undefined): string => `[${(args ?? []).map(goQuote).join(' ')}]`;

export function dispatchCmd(_ctx: ConvertContext, st: StageState, node: Instruction): void {
  const args = withShell(st, node);
  st.config.config.Cmd = args;
  st.config.config.ArgsEscaped = true;
  st.cmdSet = true;
  addHistory(st, `CMD ${quoteList(args)}`, false);
}

export function dispatchEntrypoint(_ctx: ConvertContext, st: StageState, node: Instruction): void {
  const args = node.json && node.args.length === 0 ? null : withShell(st, node);
  st.config.config.Entrypoint = args;
  // an ENTRYPOINT resets a CMD inherited from the base image, not one set in this stage
  if (!st.cmdSet) st.config.config.Cmd = null;
  addHistory(st, `ENTRYPOINT ${quoteList(args)}`, false);
}

export function dispatchHealthcheck(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const flags = instructionFlags(ctx, node);
  const type = node.args[0].toUpperCase();
  const health: HealthConfig = { Test: ['NONE'] };
  if (type === 'CMD') {
    const rest = node.args.slice(1);
    health.Test = node.json ? ['CMD', ...rest] : ['CMD-SHELL', rest.join(' ')];
    const flag = (name: string) => duration(ctx, node, name, flags.strings.get(name));
    health.Interval = flag('interval');
    health.Timeout = flag('timeout');
    health.StartPeriod = flag('start-period');
    health.StartInterval = flag('start-interval');
    const retries = flags.strings.get('retries') || undefined;
    // Go's ParseInt: an optional sign and decimal digits
    if (retries !== undefined && !/^[+-]?\d{1,10}$/.test(retries)) throw instructionError(ctx, node, `invalid --retries value: ${retries}`, { hint: 'use a whole number of consecutive failures, such as 3' });
    health.Retries = retries === undefined ? 0 : Number(retries);
    if (health.Retries < 0) throw instructionError(ctx, node, `--retries cannot be negative (${retries})`);
  }
  st.config.config.Healthcheck = health;
  const d = (ns = 0) => formatDuration(ns);
  addHistory(st, `HEALTHCHECK {Test:[${health.Test!.join(' ')}] Interval:${d(health.Interval)} Timeout:${d(health.Timeout)} StartPeriod:${d(health.StartPeriod)} StartInterval:${d(health.StartInterval)} Retries:${health.Retries ?? 0}}`, false);
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * A Go duration (`30s`, `1m30s`, `.5s`, `-1s`) in nanoseconds, as BuildKit's parseOptInterval
 * takes it: empty or zero (`0`, `0s`) means the default, anything else must be at least 1ms.
 */
function duration(ctx: ConvertContext, node: Instruction, name: string, text: string | undefined): number {
  if (text === undefined || text === '' || text === '0' || text === '+0' || text === '-0') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  const parts = [...body.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== body) {
    throw instructionError(ctx, node, `invalid duration for --${name}: ${text}`, { hint: 'write a number with a unit (ns, us, ms, s, m, h), such as 30s or 1m30s', near: `--${name}=${text}` });
  }
  const ns = sign * Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0));
  if (ns === 0) return 0;
  if (ns < 1e6) throw instructionError(ctx, node, `--${name}=${text} cannot be less than 1ms`, { hint: 'use at least 1ms, or 0s for the default', near: `--${name}=${text}` });
  return ns;
}

/** Go's time.Duration String() for whole-millisecond values and above. */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e9) return `${ns / 1e6}ms`;
  let rest = ns / 1e9;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${Number(rest.toFixed(9))}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}
