import { expandMatches } from '../model.ts';
import type { LintRule } from '../types.ts';

// A reference as Docker accepts one: [host[:port]/]path[:tag][@digest], lower-case path components.
const REFERENCE = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,})?$/;

/** With no --build-arg given, would FROM still name an image? `ARG TAG` + `FROM alpine:$TAG` would not. */
export const invalidDefaultArgInFrom: LintRule = {
  name: 'InvalidDefaultArgInFrom',
  description: 'Default value for global ARG results in an empty or invalid base image name',
  check(model, report) {
    for (const { from } of model.stages) {
      const word = from.args[0] ?? '';
      if (!word.includes('$')) continue;
      const r = expandMatches(word, model.defaultGlobalEnv, model.escapeToken);
      if (r && !REFERENCE.test(r.result)) report(from, `Default value for ARG ${word} results in empty or invalid base image name`);
    }
  },
};
