import { expandMatches } from '../model.ts';
import type { LintRule } from '../types.ts';

export const redundantTargetPlatform: LintRule = {
  name: 'RedundantTargetPlatform',
  description: 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
  check(model, report) {
    for (const s of model.stages) {
      const platform = s.from.flags.find((f) => f.startsWith('--platform='))?.slice('--platform='.length);
      if (platform === undefined) continue;
      const r = expandMatches(platform, model.globalEnv, model.escapeToken);
      if (!r || r.matched.size !== 1 || r.unmatched.size !== 0 || !r.matched.has('TARGETPLATFORM')) continue;
      if (r.result === model.globalEnv.get('TARGETPLATFORM')) report(s.from, `Setting platform to predefined ${platform} in FROM is redundant as this is the default behavior`);
    }
  },
};
