import type { LintRule, LintStage } from '../types.ts';

function setsWorkdir(s: LintStage | undefined): boolean {
  // a loop, not recursion: a Dockerfile may chain thousands of `FROM prev` stages
  for (let at = s; at !== undefined; at = at.base) if (at.commands.some((c) => c.name === 'workdir')) return true;
  return false;
}

/** Only the first WORKDIR of a stage chain matters: later relative ones build on it. */
export const workdirRelativePath: LintRule = {
  name: 'WorkdirRelativePath',
  description: 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
  check(model, report) {
    for (const s of model.stages) {
      if (!s.dispatched || setsWorkdir(s.base)) continue;
      const first = s.commands.find((c) => c.name === 'workdir');
      const path = first?.args[0];
      if (first && path !== undefined && !path.startsWith('/') && !path.startsWith('$')) report(first, `Relative workdir ${JSON.stringify(path)} can have unexpected results if the base image changes`);
    }
  },
};
