import type { LintRule } from '../types.ts';

/** Reported at the earlier instruction: it is the one that has no effect. */
export const multipleInstructionsDisallowed: LintRule = {
  name: 'MultipleInstructionsDisallowed',
  description: 'Multiple instructions of the same type should not be used in the same stage',
  check(model, report) {
    for (const s of model.stages) {
      if (!s.dispatched) continue;
      const last = new Map<string, (typeof s.commands)[number]>();
      for (const c of s.commands) {
        if (c.name !== 'cmd' && c.name !== 'entrypoint' && c.name !== 'healthcheck') continue;
        const previous = last.get(c.name);
        if (previous) report(previous, `Multiple ${c.command} instructions should not be used in the same stage because only the last one will be used`);
        last.set(c.name, c);
      }
    }
  },
};
