// RUN: a command in a sandbox on the root input (../exec/exec-op.ts). What it reads of a build
// context is what its bind mounts and cache seeds copy (../exec/op-mounts.ts).
//
// The network mode and the proxy settings say how the command runs, not what it makes (BuildKit
// keeps both beside the op): they stay out of the key, so a step built with the network is reused
// by a build with --network none. The resource limits never reach the op at all (RunContext).
import type { ExecOp } from '../../src/llb/index.ts';
import { execOp } from '../exec/exec-op.ts';
import { mountReads } from '../exec/op-mounts.ts';
import type { OpDefinition } from './op-definition.ts';

export const exec = {
  keyedOp: ({ network: _network, proxyEnv: _proxyEnv, ...rest }) => rest,
  reads: (op) => ({ local: mountReads(op.mounts), remote: false }),
  usesSandboxNetwork: (op) => op.network === 'sandbox',
  open: (env) => ({ run: (op, inputs, ctx) => execOp(env, op, inputs, ctx) }),
} satisfies OpDefinition<ExecOp>;
