// ADD <git url>: the repository at a ref, checked out into a new snapshot (../source/git-source.ts).
// Its key holds the commit the ref names now, and the checkout is of that same commit.
import type { GitSource } from '../../src/llb/index.ts';
import { createGitSources } from '../source/git-source.ts';
import type { OpDefinition } from './op-definition.ts';

export const git = {
  reads: () => ({ local: [], remote: true }),
  open: (env) => {
    const sources = createGitSources(env);
    return { run: (op, _inputs, ctx) => sources.snapshot(op, ctx), resolve: sources.resolve };
  },
} satisfies OpDefinition<GitSource>;
