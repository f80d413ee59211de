import type { LintRule } from '../types.ts';

/** `ENV a b` (no `=`): the parser marks such a pair with an empty separator. */
export const legacyKeyValueFormat: LintRule = {
  name: 'LegacyKeyValueFormat',
  description: 'Legacy key/value format with whitespace separator should not be used',
  check(model, report) {
    for (const s of model.stages) {
      if (!s.dispatched) continue;
      for (const c of s.commands) {
        if ((c.name === 'env' || c.name === 'label') && c.args.length === 3 && c.args[2] === '') report(c, `"${c.command} key=value" should be used instead of legacy "${c.command} key value" format`);
      }
    }
  },
};
