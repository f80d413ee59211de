import type { LintRule } from '../types.ts';

// A FROM of mixed casing is ConsistentInstructionCasing's to report, not this rule's.
export const fromAsCasing: LintRule = {
  name: 'FromAsCasing',
  description: "The 'as' keyword should match the case of the 'from' keyword",
  check(model, report) {
    for (const { from } of model.stages) {
      if (from.args.length < 3) continue;
      const as = from.args[1];
      const lower = from.command === from.command.toLowerCase();
      const upper = from.command === from.command.toUpperCase();
      if ((lower && as !== as.toLowerCase()) || (upper && !lower && as !== as.toUpperCase())) report(from, `'${as}' and '${from.command}' keywords' casing do not match`);
    }
  },
};
