import type { LintRule, LintStage } from '../types.ts';

/** A stage (or a stage it builds on) that sets SHELL has chosen its shell on purpose. */
function setsShell(s: LintStage | undefined): boolean {
  // a loop, not recursion: a Dockerfile may chain thousands of `FROM prev` stages
  for (let at = s; at !== undefined; at = at.base) if (at.commands.some((c) => c.name === 'shell')) return true;
  return false;
}

export const jsonArgsRecommended: LintRule = {
  name: 'JSONArgsRecommended',
  description: 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
  check(model, report) {
    for (const s of model.stages) {
      if (!s.dispatched) continue;
      let shell = setsShell(s.base);
      for (const c of s.commands) {
        if (c.name === 'shell') shell = true;
        if ((c.name === 'cmd' || c.name === 'entrypoint') && !c.json && !shell) {
          report(c, `JSON arguments recommended for ${c.command} to prevent unintended behavior related to OS signals`);
        }
      }
    }
  },
};
