// RUN → an exec op over the stage's filesystem. ARG values reach the command's environment but
// not the image config; history records them as BuildKit does (`RUN |1 V=x /bin/sh -c make`).
import { createVertex, type ExecOp, type NetworkMode, type Vertex } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { PROXY_ARGS } from './args.ts';
import { withShell } from './command-config.ts';
import { envLookup, envToStrings, getEnv, setEnv } from './env.ts';
import { instructionError } from './errors.ts';
import { instructionFlags } from './instructions.ts';
import { parseRunMounts, resolveRunMounts } from './run-mounts.ts';
import { addHistory, DEFAULT_PATH, displayText, stepMeta, type ConvertContext, type StageState } from './state.ts';

const NETWORKS: Readonly<Record<string, NetworkMode>> = { default: 'sandbox', sandbox: 'sandbox', none: 'none', host: 'host' };

export async function dispatchRun(ctx: ConvertContext, st: StageState, node: Instruction): Promise<void> {
  const flags = instructionFlags(ctx, node);
  const networkFlag = flags.strings.get('network') ?? 'default';
  const network = NETWORKS[networkFlag];
  if (network === undefined) throw instructionError(ctx, node, `unsupported network mode: ${networkFlag}`, { hint: 'use default, none or host' });
  if (flags.lists.has('device')) throw instructionError(ctx, node, 'RUN --device is not supported yet');
  const security = flags.strings.get('security') ?? 'sandbox';
  if (security === 'insecure') throw instructionError(ctx, node, 'RUN --security=insecure is not supported: tsbuild runs every step sandboxed', { hint: 'drop the flag, or build with BuildKit and --allow security.insecure' });
  if (security !== 'sandbox') throw instructionError(ctx, node, `unsupported security mode: ${security}`, { hint: 'use sandbox or insecure' });
  const specs = parseRunMounts(ctx, st, node, flags.lists.get('mount') ?? []);

  const args = commandLine(st, node);
  let env = st.env;
  if (getEnv(env, 'PATH') === undefined) env = setEnv(env, 'PATH', DEFAULT_PATH);
  for (const key of PROXY_ARGS) {
    const value = ctx.opts.buildArgs[key];
    if (value !== undefined && getEnv(env, key) === undefined) env = setEnv(env, key, value);
    if (value !== undefined) ctx.consumedArgs.add(key);
  }
  const inputs: Vertex[] = st.vertex ? [st.vertex] : [];
  const mounts = await resolveRunMounts(ctx, st, node, specs, inputs);
  const op: ExecOp = {
    kind: 'exec',
    args,
    env: envToStrings(env),
    cwd: st.config.config.WorkingDir || '/',
    user: st.config.config.User ?? '',
    network,
    mounts: [{ type: 'root', input: st.vertex ? 0 : undefined }, ...mounts],
  };
  st.vertex = createVertex(op, inputs, stepMeta(ctx, st, node, displayText(node)));
  addHistory(st, `RUN ${runCommandString(st, args)} # buildkit`, true);
}

/** Shell form through SHELL; heredocs go to the shell with the line that opens them, which reads them as a shell would. */
function commandLine(st: StageState, node: Instruction): string[] {
  if (node.json || node.heredocs.length === 0) return withShell(st, node);
  let script = node.args.join(' ');
  for (const doc of node.heredocs) script += `\n${doc.content}${doc.name}`;
  return withShell(st, { ...node, args: [script] });
}

function runCommandString(st: StageState, args: string[]): string {
  const lookup = envLookup(st.env);
  const pairs = new Map<string, string>();
  for (const arg of st.args) pairs.set(arg.key, lookup(arg.key) ?? arg.value ?? '');
  const prefix = pairs.size > 0 ? [`|${pairs.size}`, ...[...pairs].map(([k, v]) => `${k}=${v}`)] : [];
  return [...prefix, ...args].join(' ');
}
