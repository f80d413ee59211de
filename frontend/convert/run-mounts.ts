// RUN --mount specs → exec mounts. Bind and cache mounts that read something (`from=stage`, a
// named context, an image, or the main context for a bind without `from`) add that vertex as an
// input of the exec; secrets and ssh agents are named by id and never enter the graph.
import { posix } from 'node:path';
import type { ExecMount, Vertex } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { instructionError } from './errors.ts';
import { expand } from './expand.ts';
import { MountSpecError, parseMountSpec, type MountSpec } from './mount-spec.ts';
import type { ConvertContext, StageState } from './state.ts';

/** Parses every --mount value of a RUN; errors name the instruction and the option at fault. */
export function parseRunMounts(ctx: ConvertContext, st: StageState, node: Instruction, values: readonly string[]): MountSpec[] {
  return values.map((text) => {
    try {
      return parseMountSpec(text, (v) => expand(ctx, node, st.env, v));
    } catch (e) {
      if (e instanceof MountSpecError) throw instructionError(ctx, node, `RUN --mount=${text}: ${e.message}`, { hint: e.hint });
      throw e;
    }
  });
}

/**
 * The exec mounts for `specs`, after the root mount. `inputs` is the exec's input list (the
 * stage's filesystem first, when it has one); vertices the mounts read are appended to it.
 */
export async function resolveRunMounts(ctx: ConvertContext, st: StageState, node: Instruction, specs: readonly MountSpec[], inputs: Vertex[]): Promise<ExecMount[]> {
  const cwd = st.config.config.WorkingDir || '/';
  const inputIndex = (v: Vertex | undefined): number | undefined => {
    if (!v) return undefined;
    const i = inputs.findIndex((x) => x.digest === v.digest);
    if (i >= 0) return i;
    inputs.push(v);
    return inputs.length - 1;
  };
  const fail = (spec: MountSpec, message: string, hint?: string) => instructionError(ctx, node, `RUN --mount type=${spec.type}: ${message}`, { hint });
  const mounts: ExecMount[] = [];
  let sshCount = 0;
  for (const spec of specs) {
    const target = spec.target ? posix.resolve('/', cwd, spec.target) : undefined;
    if (target === '/') throw fail(spec, 'invalid mount target "/"', 'mount somewhere below the root');
    switch (spec.type) {
      case 'bind': {
        if (!target) throw fail(spec, 'target is required', 'add target=/path');
        // without `from`, a bind mount reads the build context (after .dockerignore)
        const source = await ctx.resolveSource(spec.from, node, st);
        mounts.push({ type: 'bind', target, input: inputIndex(source), source: posix.resolve('/', spec.source ?? '/'), readonly: spec.readonly });
        break;
      }
      case 'cache': {
        if (!target) throw fail(spec, 'target is required', 'add target=/path');
        if (spec.readonly) throw fail(spec, 'read-only cache mounts are not supported yet', 'drop readonly (ro) from this cache mount');
        // a cache without `from` starts empty; with `from` it starts as a copy of that source
        const source = spec.from === undefined ? undefined : await ctx.resolveSource(spec.from, node, st);
        mounts.push({
          type: 'cache',
          target,
          id: spec.id || posix.normalize(spec.target!),
          sharing: spec.sharing ?? 'shared',
          input: inputIndex(source),
          source: spec.source === undefined ? undefined : posix.resolve('/', spec.source),
          mode: spec.mode,
          uid: spec.uid,
          gid: spec.gid,
        });
        break;
      }
      case 'tmpfs':
        if (!target) throw fail(spec, 'target is required', 'add target=/path');
        mounts.push({ type: 'tmpfs', target, size: spec.size });
        break;
      case 'secret': {
        const id = spec.id || spec.source || posix.basename(spec.target!);
        // with env= and no target the value goes only to the variable, as in BuildKit
        const file = target ?? (spec.env === undefined ? `/run/secrets/${posix.basename(id)}` : undefined);
        mounts.push({
          type: 'secret', ...(file === undefined ? {} : { target: file }), id, required: spec.required, mode: spec.mode ?? 0o400, uid: spec.uid ?? 0, gid: spec.gid ?? 0,
          ...(spec.env === undefined ? {} : { env: spec.env }),
        });
        break;
      }
      case 'ssh':
        mounts.push({ type: 'ssh', target: target ?? `/run/buildkit/ssh_agent.${sshCount}`, id: spec.id || 'default', required: spec.required, mode: spec.mode ?? 0o600, uid: spec.uid ?? 0, gid: spec.gid ?? 0 });
        sshCount++;
        break;
    }
  }
  return mounts;
}

/**
 * The command's environment with SSH_AUTH_SOCK naming the first ssh mount, unless it is set
 * already: BuildKit's llb adds it the same way, so the variable is part of the op (and its key),
 * while which agent serves the socket is not.
 */
export function sshAuthSock(mounts: readonly ExecMount[], has: (key: string) => boolean): string | undefined {
  const first = mounts.find((m) => m.type === 'ssh');
  return first && !has('SSH_AUTH_SOCK') ? first.target : undefined;
}
