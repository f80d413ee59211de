// The op table: one definition per op kind. `satisfies OpTable` makes a kind of the src/llb union
// without its module (or a module for a kind that is not in the union) a compile error, and the
// solver asks this table instead of switching on kinds.
import type { Op } from '../../src/llb/index.ts';
import type { BuildSession, InputRef } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { exec } from './exec.ts';
import { file } from './file.ts';
import { git } from './git.ts';
import { http } from './http.ts';
import { image } from './image.ts';
import { local } from './local.ts';
import type { ContextRef, KeyReads, OpDefinition, OpName, OpOf, OpRunContext, OpRunner } from './op-definition.ts';

type OpTable = { readonly [N in OpName]: OpDefinition<OpOf<N>> };

const opTable = { image, local, http, git, exec, file } as const satisfies OpTable;

export function opName(op: Op): OpName {
  return op.kind === 'source' ? op.source : op.kind;
}

// opTable[opName(op)] is the definition of op's own kind, which TypeScript cannot correlate
function definitionOf(op: Op): OpDefinition<Op> {
  return opTable[opName(op)] as OpDefinition<never> as OpDefinition<Op>;
}

/** What the solver needs to know of an op, as data. */
export interface OpDescription {
  /** The op as its cache key hashes it. */
  keyedOp: unknown;
  reads: KeyReads;
  /** Set for a build context: never run nor cached (the plan's `local` decision). */
  context?: ContextRef;
  /** Still answered from the cache under --no-cache (an image pinned by its digest). */
  cachedUnderNoCache: boolean;
  /** Runs in the `sandbox` network. */
  usesSandboxNetwork: boolean;
}

export function describeOp(op: Op): OpDescription {
  const d = definitionOf(op);
  return {
    keyedOp: d.keyedOp ? d.keyedOp(op) : op,
    reads: d.reads(op),
    context: d.context?.(op),
    cachedUnderNoCache: d.cachedUnderNoCache === true,
    usesSandboxNetwork: d.usesSandboxNetwork?.(op) ?? false,
  };
}

export interface OpRunners {
  run(op: Op, inputs: readonly InputRef[], ctx: OpRunContext): Promise<string | undefined>;
  resolve(op: Op, session: BuildSession, signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

/** Opens every kind's runner on the worker's env; `run` and `resolve` dispatch by kind. */
export function openOpRunners(env: WorkerEnv): OpRunners {
  const runners = new Map<string, OpRunner<Op>>();
  for (const [name, d] of Object.entries(opTable)) runners.set(name, (d as OpDefinition<never> as OpDefinition<Op>).open(env));
  const runnerOf = (op: Op) => runners.get(opName(op))!;
  return {
    run: (op, inputs, ctx) => runnerOf(op).run(op, inputs, ctx),
    resolve: (op, session, signal) => {
      const r = runnerOf(op);
      if (!r.resolve) throw new Error(`a ${opName(op)} op has nothing remote to resolve`);
      return r.resolve(op, session, signal);
    },
    close: async () => {
      for (const r of runners.values()) await r.close?.();
    },
  };
}
