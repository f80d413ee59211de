import { closest } from '../../../src/errors/index.ts';
import type { LintRule } from '../types.ts';

/**
 * A variable an instruction expands that no ENV or ARG defined. On a stage built from an image
 * we do not know the image's environment (the linter resolves nothing), so there only likely
 * typos of a defined name are reported.
 */
export const undefinedVar: LintRule = {
  name: 'UndefinedVar',
  description: 'Variables should be defined before their use',
  check(model, report) {
    const seen = new Set<string>();
    for (const x of model.expansions) {
      for (const name of x.unmatched) {
        // on an image, PATH is our stand-in for the image's own: no basis for "did you mean"
        const near = closest(name, x.envKnown ? x.defined : x.defined.filter((d) => d !== 'PATH'));
        if (!x.envKnown && !near) continue;
        const key = `${x.node.startLine}:${name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        report(x.node, `Usage of undefined variable '$${name}'${near ? ` (did you mean $${near}?)` : ''}`);
      }
    }
  },
};
