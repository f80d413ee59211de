import type { LintRule } from '../types.ts';

const selfConsistent = (s: string) => s === s.toLowerCase() || s === s.toUpperCase();

/** Every instruction word should be all upper or all lower case, like the majority of the file's stages. */
export const consistentInstructionCasing: LintRule = {
  name: 'ConsistentInstructionCasing',
  description: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
  check(model, report) {
    const nodes = model.stages.flatMap((s) => [s.from, ...s.commands]);
    let lower = 0;
    let upper = 0;
    for (const n of nodes) {
      if (!selfConsistent(n.command)) continue;
      if (n.command === n.command.toLowerCase()) lower++;
      else upper++;
    }
    const majorityLower = lower > upper;
    for (const n of nodes) {
      if (majorityLower && n.command !== n.command.toLowerCase()) report(n, `Command '${n.command}' should match the case of the command majority (lowercase)`);
      if (!majorityLower && n.command !== n.command.toUpperCase()) report(n, `Command '${n.command}' should match the case of the command majority (uppercase)`);
    }
  },
};
