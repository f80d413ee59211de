// ARG: the global scope before the first FROM (usable in FROM lines), the automatic platform
// args, and ARG inside a stage, which puts a value in the environment RUN sees but never in the
// image config.
import type { Platform } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { setEnv, getEnv, type EnvList } from './env.ts';
import { expand, type ExpandContext } from './expand.ts';
import { addHistory, type ConvertContext, type DeclaredArg, type StageState } from './state.ts';

/** Proxy args reach RUN without an ARG and stay out of history, as in BuildKit. */
export const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy'];

export const formatPlatform = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** BUILDPLATFORM, TARGETPLATFORM and their parts; we build for the platform we run on. */
export function platformArgs(target: Platform, build: Platform): EnvList {
  return [
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
  ];
}

/** `KEY` or `KEY=default` words of an ARG instruction. */
export function declaredArgs(node: Instruction): DeclaredArg[] {
  return node.args.map((word) => {
    const eq = word.indexOf('=');
    return eq < 0 ? { key: word } : { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
}

/** The global scope: platform args, then each ARG before the first FROM. */
export function globalArgs(ctx: ExpandContext, metaArgs: Instruction[], buildArgs: Readonly<Record<string, string>>, platform: Platform, used: Set<string>): EnvList {
  let env = platformArgs(platform, platform);
  for (const node of metaArgs) {
    for (const arg of declaredArgs(node)) {
      used.add(arg.key);
      const given = Object.hasOwn(buildArgs, arg.key) ? buildArgs[arg.key] : undefined;
      const value = given ?? (arg.value === undefined ? undefined : expand(ctx, node, env, arg.value));
      if (value !== undefined) env = setEnv(env, arg.key, value);
    }
  }
  return env;
}

export function dispatchArg(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const commits: string[] = [];
  for (const arg of declaredArgs(node)) {
    ctx.consumedArgs.add(arg.key);
    const given = Object.hasOwn(ctx.opts.buildArgs, arg.key) ? ctx.opts.buildArgs[arg.key] : undefined;
    let value: string | undefined;
    if (given !== undefined) value = given;
    else if (arg.value !== undefined) value = expand(ctx, node, st.env, arg.value);
    else value = getEnv(ctx.globalArgs, arg.key); // redeclared global: inherits its value
    if (value !== undefined) st.env = setEnv(st.env, arg.key, value);
    st.args = [...st.args, { key: arg.key, value }];
    commits.push(value === undefined ? arg.key : `${arg.key}=${value}`);
  }
  addHistory(st, `ARG ${commits.join(' ')}`, false);
}
