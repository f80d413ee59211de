// Instructions that only change the image config: ENV, LABEL, USER, VOLUME, STOPSIGNAL, SHELL,
// MAINTAINER, ONBUILD. Each adds an `empty_layer` history entry worded as BuildKit words it.
import type { Instruction } from '../parser/ast.ts';
import { envToStrings, setEnv, envFromStrings } from './env.ts';
import { instructionError } from './errors.ts';
import { expand } from './expand.ts';
import { addHistory, type ConvertContext, type StageState } from './state.ts';

/** ENV and LABEL arguments come as (key, value, separator) triples. */
function pairs(ctx: ConvertContext, st: StageState, node: Instruction): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < node.args.length; i += 3) out.push([expand(ctx, node, st.env, node.args[i]), expand(ctx, node, st.env, node.args[i + 1])]);
  return out;
}

export function dispatchEnv(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const kvs = pairs(ctx, st, node);
  let env = envFromStrings(st.config.config.Env);
  for (const [k, v] of kvs) {
    st.env = setEnv(st.env, k, v);
    env = setEnv(env, k, v);
  }
  st.config.config.Env = envToStrings(env);
  addHistory(st, `ENV ${kvs.map(([k, v]) => `${k}=${v}`).join(' ')}`, false);
}

export function dispatchLabel(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const kvs = pairs(ctx, st, node);
  const labels = { ...st.config.config.Labels };
  for (const [k, v] of kvs) labels[k] = v;
  st.config.config.Labels = labels;
  addHistory(st, `LABEL ${kvs.map(([k, v]) => `${k}=${v}`).join(' ')}`, false);
}

export function dispatchUser(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const user = expand(ctx, node, st.env, node.args[0]);
  st.config.config.User = user;
  addHistory(st, `USER ${user}`, false);
}

export function dispatchVolume(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const volumes = node.args.map((v) => expand(ctx, node, st.env, v));
  if (volumes.some((v) => v === '')) throw instructionError(ctx, node, 'VOLUME specified can not be an empty string');
  st.config.config.Volumes = { ...st.config.config.Volumes, ...Object.fromEntries(volumes.map((v) => [v, {}])) };
  addHistory(st, `VOLUME [${volumes.join(' ')}]`, false);
}

// moby's signal table for Linux, which BuildKit checks STOPSIGNAL against
const SIGNALS = new Set([
  ...'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ RTMIN RTMAX'.split(' '),
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** As moby's ParseSignal: any non-zero integer Go's Atoi reads (sign allowed), or a name from the table, SIG optional. */
export function isValidStopSignal(signal: string): boolean {
  if (/^[+-]?\d+$/.test(signal)) {
    const n = BigInt(signal);
    return n !== 0n && n >= -(2n ** 63n) && n < 2n ** 63n;
  }
  return SIGNALS.has(signal.toUpperCase().replace(/^SIG/, ''));
}

export function dispatchStopSignal(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const signal = expand(ctx, node, st.env, node.args[0]);
  if (!isValidStopSignal(signal)) {
    throw instructionError(ctx, node, `invalid signal: ${signal}`, { hint: 'use a signal name such as SIGTERM, SIGINT or SIGRTMIN+3, or a non-zero signal number' });
  }
  st.config.config.StopSignal = signal;
  addHistory(st, `STOPSIGNAL ${signal}`, false);
}

export function dispatchShell(_ctx: ConvertContext, st: StageState, node: Instruction): void {
  st.config.config.Shell = [...node.args];
  addHistory(st, `SHELL [${node.args.join(' ')}]`, false);
}

export function dispatchMaintainer(_ctx: ConvertContext, st: StageState, node: Instruction): void {
  st.config.author = node.args[0];
  addHistory(st, `MAINTAINER ${node.args[0]}`, false);
}

/** ONBUILD stores its trigger for images built FROM this one; it adds no history. */
export function dispatchOnbuild(_ctx: ConvertContext, st: StageState, node: Instruction): void {
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const doc of node.heredocs) expression += `\n${doc.content}${doc.name}`;
  st.config.config.OnBuild = [...(st.config.config.OnBuild ?? []), expression];
}
