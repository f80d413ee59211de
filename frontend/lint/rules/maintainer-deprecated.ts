import type { LintRule } from '../types.ts';

export const maintainerDeprecated: LintRule = {
  name: 'MaintainerDeprecated',
  description: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
  check(model, report) {
    for (const s of model.stages) for (const c of s.commands) if (c.name === 'maintainer') report(c, 'Maintainer instruction is deprecated in favor of using label');
  },
};
