import { closest } from '../../../src/errors/index.ts';
import { expandMatches } from '../model.ts';
import type { LintRule } from '../types.ts';

/** A variable in FROM (image or --platform) that no global ARG declares expands to nothing. */
export const undefinedArgInFrom: LintRule = {
  name: 'UndefinedArgInFrom',
  description: 'FROM command must use declared ARGs',
  check(model, report) {
    const known = new Set([...model.globalArgKeys, ...model.globalEnv.keys()]);
    for (const { from } of model.stages) {
      const platform = from.flags.find((f) => f.startsWith('--platform='))?.slice('--platform='.length);
      for (const word of [from.args[0] ?? '', ...(platform === undefined ? [] : [platform])]) {
        const r = expandMatches(word, model.globalEnv, model.escapeToken);
        for (const name of r?.unmatched ?? []) {
          if (known.has(name)) continue;
          const near = closest(name, known);
          report(from, `FROM argument '${name}' is not declared${near ? ` (did you mean ${near}?)` : ''}`);
        }
      }
    }
  },
};
