import type { LintRule } from '../types.ts';

// `scratch` and `context` already mean something in FROM and --from
const RESERVED = new Set(['context', 'scratch']);

export const reservedStageName: LintRule = {
  name: 'ReservedStageName',
  description: 'Reserved words should not be used as stage names',
  check(model, report) {
    for (const s of model.stages) {
      const name = s.name?.toLowerCase();
      if (name !== undefined && RESERVED.has(name)) report(s.from, `Stage name should not use the same name as reserved stage ${JSON.stringify(name)}`);
    }
  },
};
