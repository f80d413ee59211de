import type { LintRule } from '../types.ts';

export const noEmptyContinuation: LintRule = {
  name: 'NoEmptyContinuation',
  description: 'Empty continuation lines will become errors in a future release',
  check(model, report) {
    for (const w of model.ast.warnings) if (w.message.startsWith('Empty continuation line')) report(w.line, 'Empty continuation line');
  },
};
