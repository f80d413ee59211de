import type { LintRule } from '../types.ts';

export const duplicateStageName: LintRule = {
  name: 'DuplicateStageName',
  description: 'Stage names should be unique',
  check(model, report) {
    const seen = new Set<string>();
    for (const s of model.stages) {
      if (s.name === undefined) continue;
      const name = s.name.toLowerCase();
      if (seen.has(name)) report(s.from, `Duplicate stage name ${JSON.stringify(name)}, stage names should be unique`);
      seen.add(name);
    }
  },
};
