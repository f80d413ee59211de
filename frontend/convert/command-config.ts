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
    health.Interval = duration(ctx, node, flags.strings.get('interval'));
    health.Timeout = duration(ctx, node, flags.strings.get('timeout'));
    health.StartPeriod = duration(ctx, node, flags.strings.get('start-period'));
    health.StartInterval = duration(ctx, node, flags.strings.get('start-interval'));
    const retries = flags.strings.get('retries');
    health.Retries = retries === undefined ? 0 : Number(retries);
    if (!Number.isInteger(health.Retries)) throw instructionError(ctx, node, `invalid --retries value: ${retries}`);
    if (health.Retries < 0) throw instructionError(ctx, node, `--retries cannot be negative (${retries})`);
  }
  st.config.config.Healthcheck = health;
  const d = (ns = 0) => formatDuration(ns);
  addHistory(st, `HEALTHCHECK {Test:[${health.Test!.join(' ')}] Interval:${d(health.Interval)} Timeout:${d(health.Timeout)} StartPeriod:${d(health.StartPeriod)} StartInterval:${d(health.StartInterval)} Retries:${health.Retries ?? 0}}`, false);
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds; at least 1ms when not zero. */
function duration(ctx: ConvertContext, node: Instruction, text: string | undefined): number {
  if (text === undefined || text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw instructionError(ctx, node, `invalid duration: ${text}`);
  const ns = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0));
  if (ns < 1e6) throw instructionError(ctx, node, `Interval ${JSON.stringify(text)} cannot be less than 1ms`);
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
