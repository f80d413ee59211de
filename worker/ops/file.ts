// COPY, ADD of local files, WORKDIR's mkdir and the like: actions applied in order to a new
// snapshot on the base input (../file/file-op.ts). Each copy from a build context reads what
// ../file/copy.ts says it copies.
import type { FileOp } from '../../src/llb/index.ts';
import { copyReads } from '../file/copy.ts';
import { fileOp } from '../file/file-op.ts';
import type { OpDefinition } from './op-definition.ts';

export const file = {
  reads: (op) => ({ local: op.actions.flatMap((a) => (a.action === 'copy' ? [copyReads(a)] : [])), remote: false }),
  open: (env) => ({ run: (op, inputs, ctx) => fileOp(env, op, inputs, ctx) }),
} satisfies OpDefinition<FileOp>;
