import type { LintRule } from '../types.ts';

export const stageNameCasing: LintRule = {
  name: 'StageNameCasing',
  description: 'Stage names should be lowercase',
  check(model, report) {
    for (const s of model.stages) if (s.name !== undefined && s.name !== s.name.toLowerCase()) report(s.from, `Stage name '${s.name}' should be lowercase`);
  },
};
