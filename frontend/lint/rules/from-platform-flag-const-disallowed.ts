import { expandMatches } from '../model.ts';
import type { LintRule } from '../types.ts';

/** `FROM --platform=linux/amd64` pins a platform; fine only when the stage's name says so (`build-amd64`). */
export const fromPlatformFlagConstDisallowed: LintRule = {
  name: 'FromPlatformFlagConstDisallowed',
  description: 'FROM --platform flag should not use a constant value',
  check(model, report) {
    for (const s of model.stages) {
      const platform = s.from.flags.find((f) => f.startsWith('--platform='))?.slice('--platform='.length);
      if (platform === undefined) continue;
      const r = expandMatches(platform, model.globalEnv, model.escapeToken);
      if (!r || r.matched.size > 0 || r.unmatched.size > 0) continue;
      const [os, arch] = r.result.split('/');
      if (!os) continue;
      const name = s.name ?? '';
      if (name.includes(os) || (arch !== undefined && name.includes(arch))) continue;
      report(s.from, `FROM --platform flag should not use constant value ${JSON.stringify(r.result)}`);
    }
  },
};
