// ADD <url>: the body as one file in a new snapshot (../source/http-source.ts). Its key: the op
// alone when --checksum pins the body, else also the digest of the body the URL serves now,
// downloaded once per build (kept in its session, removed from tmp when it ends).
import type { HttpSource } from '../../src/llb/index.ts';
import { createHttpSources } from '../source/http-source.ts';
import type { OpDefinition } from './op-definition.ts';

export const http = {
  reads: (op) => ({ local: [], remote: op.checksum === undefined }),
  open: (env) => {
    const sources = createHttpSources(env);
    return { run: (op, _inputs, ctx) => sources.snapshot(op, ctx), resolve: sources.resolve };
  },
} satisfies OpDefinition<HttpSource>;
