// A build context: never run nor cached. Ops that read it (COPY, RUN --mount) read the host
// directory the build names, and hash what they read into their own keys (../file/copy.ts,
// ../exec/op-mounts.ts), so editing a file nothing reads misses nothing.
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { LocalSource } from '../../src/llb/index.ts';
import { readsNothing, type OpDefinition } from './op-definition.ts';

export const local = {
  reads: () => readsNothing,
  context: (op) => ({ name: op.name, excludePatterns: op.excludePatterns }),
  open: () => ({
    run: async (op) => {
      throw new TsbuildError(`build context "${op.name}" is read where it is, never run`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
    },
  }),
} satisfies OpDefinition<LocalSource>;
