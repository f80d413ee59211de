// EXPOSE words as BuildKit lints them while parsing ports; words with variables are skipped, since
// the linter expands nothing.
import type { Instruction } from '../../parser/ast.ts';
import type { LintModel, LintRule, Report } from '../types.ts';

function exposeWords(model: LintModel, each: (node: Instruction, word: string) => void): void {
  for (const s of model.stages) {
    if (!s.dispatched) continue;
    for (const c of s.commands) if (c.name === 'expose') for (const w of c.args) if (!w.includes('$')) each(c, w);
  }
}

export const exposeProtoCasing: LintRule = {
  name: 'ExposeProtoCasing',
  description: 'Protocol in EXPOSE instruction should be lowercase',
  check(model, report: Report) {
    exposeWords(model, (node, word) => {
      const proto = word.includes('/') ? word.slice(word.indexOf('/') + 1) : '';
      if (proto !== proto.toLowerCase()) report(node, `Defined protocol '${word}' in EXPOSE instruction should be lowercase`);
    });
  },
};

export const exposeInvalidFormat: LintRule = {
  name: 'ExposeInvalidFormat',
  description: 'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
  check(model, report: Report) {
    exposeWords(model, (node, word) => {
      if (word.includes(':')) report(node, `EXPOSE instruction should not define an IP address or host-port mapping, found '${word}'`);
    });
  },
};
