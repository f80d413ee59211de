// RUN → an exec op over the stage's filesystem. ARG values reach the command's environment but
// not the image config; history records them as BuildKit does (`RUN |1 V=x /bin/sh -c make`).
import { createVertex, proxyEnvFromBuildArgs, type ExecOp, type NetworkMode, type Vertex } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { PROXY_ARGS } from './args.ts';
import { withShell } from './command-config.ts';
import { envLookup, envToStrings, getEnv, setEnv } from './env.ts';
import { instructionError, locate } from './errors.ts';
import { requireEntitlement } from './entitlements.ts';
import { chompHeredocContent, parseHeredoc } from '../parser/heredoc.ts';
import { instructionFlags } from './instructions.ts';
import { parseRunMounts, resolveRunMounts, sshAuthSock } from './run-mounts.ts';
import { addHistory, DEFAULT_PATH, displayText, stepMeta, type ConvertContext, type StageState } from './state.ts';

const NETWORKS: Readonly<Record<string, NetworkMode>> = { sandbox: 'sandbox', none: 'none', host: 'host' };

export async function dispatchRun(ctx: ConvertContext, st: StageState, node: Instruction): Promise<void> {
  const flags = instructionFlags(ctx, node);
  const networkFlag = flags.strings.get('network') ?? 'default';
  // `default` is the build's --network (itself sandbox unless given)
  const network = networkFlag === 'default' ? (ctx.opts.network ?? 'sandbox') : NETWORKS[networkFlag];
  if (network === undefined) throw instructionError(ctx, node, `unsupported network mode: ${networkFlag}`, { hint: 'use default, none or host' });
  // the build-wide --network host was checked against --allow where it was given (control/options.ts)
  if (network === 'host' && flags.strings.has('network')) requireEntitlement(ctx, node, ctx.opts.entitlements, 'network.host', '--network=host');
  if (flags.lists.has('device')) throw instructionError(ctx, node, 'RUN --device is not supported yet');
  const security = flags.strings.get('security') ?? 'sandbox';
  if (security !== 'sandbox' && security !== 'insecure') throw instructionError(ctx, node, `unsupported security mode: ${security}`, { hint: 'use sandbox or insecure' });
  if (security === 'insecure') requireEntitlement(ctx, node, ctx.opts.entitlements, 'security.insecure', '--security=insecure');
  const specs = parseRunMounts(ctx, st, node, flags.lists.get('mount') ?? []);

  const inputs: Vertex[] = st.vertex ? [st.vertex] : [];
  const { args, pipe } = commandLine(ctx, st, node);
  let env = st.env;
  if (getEnv(env, 'PATH') === undefined) env = setEnv(env, 'PATH', DEFAULT_PATH);
  // proxy args reach the command through proxyEnv (both spellings, outside the digest), not the env
  for (const key of PROXY_ARGS) if (ctx.opts.buildArgs[key] !== undefined) ctx.consumedArgs.add(key);
  const mounts = await resolveRunMounts(ctx, st, node, specs, inputs);
  const agentSock = sshAuthSock(mounts, (key) => getEnv(env, key) !== undefined);
  if (agentSock !== undefined) env = setEnv(env, 'SSH_AUTH_SOCK', agentSock);
  if (pipe) {
    inputs.push(pipe);
    mounts.push({ type: 'bind', target: PIPES, input: inputs.length - 1, source: '/', readonly: true });
  }
  const op: ExecOp = {
    kind: 'exec',
    args,
    env: envToStrings(env),
    cwd: st.config.config.WorkingDir || '/',
    user: st.config.config.User ?? '',
    network,
    mounts: [{ type: 'root', input: st.vertex ? 0 : undefined }, ...mounts],
    extraHosts: ctx.opts.extraHosts?.length ? [...ctx.opts.extraHosts] : undefined,
    security: security === 'insecure' ? 'insecure' : undefined,
    proxyEnv: proxyEnvFromBuildArgs(ctx.opts.buildArgs),
  };
  st.vertex = createVertex(op, inputs, { ...stepMeta(ctx, st, node, displayText(node)), buildArgs: st.args.map((a) => a.key) });
  addHistory(st, `RUN ${runCommandString(st, args)} # buildkit`, true);
}

// where a heredoc script with a shebang is mounted to run, as BuildKit mounts it
const PIPES = '/dev/pipes';

/**
 * Shell form goes through SHELL. A RUN that is only one heredoc runs its body: as the shell
 * command, or, when it starts with `#!`, as an executable file mounted at /dev/pipes (BuildKit's
 * way, so any interpreter works). Otherwise heredocs go to the shell with the line that opens
 * them, which reads them as a shell would.
 */
function commandLine(ctx: ConvertContext, st: StageState, node: Instruction): { args: string[]; pipe?: Vertex } {
  if (node.json || node.heredocs.length === 0) return { args: withShell(st, node) };
  const only = node.args.length === 1 ? parseHeredoc(node.args[0]) : undefined;
  if (only) {
    const doc = node.heredocs[0];
    const data = doc.chomp ? chompHeredocContent(doc.content) : doc.content;
    if (!data.startsWith('#!')) return { args: withShell(st, { ...node, args: [data] }) };
    const pipe = createVertex({ kind: 'file', actions: [{ action: 'mkfile', path: `/${doc.name}`, mode: 0o755, data }] }, [], { name: `[${st.displayName}] preparing inline document`, location: locate(ctx, node) });
    return { args: withShell(st, { ...node, args: [`${PIPES}/${doc.name}`] }), pipe };
  }
  let script = node.args.join(' ');
  for (const doc of node.heredocs) script += `\n${doc.content}${doc.name}`;
  return { args: withShell(st, { ...node, args: [script] }) };
}

function runCommandString(st: StageState, args: string[]): string {
  const lookup = envLookup(st.env);
  const pairs = new Map<string, string>();
  for (const arg of st.args) pairs.set(arg.key, lookup(arg.key) ?? arg.value ?? '');
  const prefix = pairs.size > 0 ? [`|${pairs.size}`, ...[...pairs].map(([k, v]) => `${k}=${v}`)] : [];
  return [...prefix, ...args].join(' ');
}
