// WORKDIR: relative paths chain onto the current one; any directory but `/` is created as its
// own layer (owned by the current USER), which is what BuildKit does.
import { posix } from 'node:path';
import { createVertex, type ChownSpec } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { instructionError } from './errors.ts';
import { expand } from './expand.ts';
import { addHistory, displayText, stepMeta, type ConvertContext, type StageState } from './state.ts';

export function parseChown(spec: string): ChownSpec {
  const colon = spec.indexOf(':');
  return colon < 0 ? { user: spec } : { user: spec.slice(0, colon), group: spec.slice(colon + 1) };
}

export function dispatchWorkdir(ctx: ConvertContext, st: StageState, node: Instruction): void {
  const path = expand(ctx, node, st.env, node.args[0]);
  const dir = posix.resolve('/', st.config.config.WorkingDir || '/', path);
  // Linux's PATH_MAX: no process could ever chdir there, so the step could not do what it says
  if (Buffer.byteLength(dir) > 4095) {
    throw instructionError(ctx, node, `WORKDIR path is ${Buffer.byteLength(dir)} bytes long; Linux allows at most 4095`, { hint: 'use a shorter path' });
  }
  st.config.config.WorkingDir = dir;
  const layer = dir !== '/';
  if (layer) {
    const user = st.config.config.User;
    st.vertex = createVertex(
      { kind: 'file', base: st.vertex ? 0 : undefined, actions: [{ action: 'mkdir', path: dir, mode: 0o755, makeParents: true, chown: user ? parseChown(user) : undefined }] },
      st.vertex ? [st.vertex] : [],
      stepMeta(ctx, st, node, displayText(node)),
    );
  } else st.step++;
  addHistory(st, `WORKDIR ${dir}`, layer);
}
