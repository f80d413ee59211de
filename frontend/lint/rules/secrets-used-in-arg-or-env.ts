import type { LintRule } from '../types.ts';

// A name whose first or last `_`-separated word is one of these probably holds a secret, which
// an ARG or ENV would keep in the image's history or config; `public`, `file`, `version` do not.
const DENY = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOW = /(?:_|^)(?:public|file|version)(?:_|$)/i;

export const secretsUsedInArgOrEnv: LintRule = {
  name: 'SecretsUsedInArgOrEnv',
  description: 'Sensitive data should not be used in the ARG or ENV commands',
  check(model, report) {
    const check = (instruction: string, node: Parameters<typeof report>[0], key: string) => {
      if (DENY.test(key) && !ALLOW.test(key)) report(node, `Do not use ARG or ENV instructions for sensitive data (${instruction} ${JSON.stringify(key)})`);
    };
    for (const s of model.stages) {
      if (!s.dispatched) continue;
      for (const c of s.commands) {
        if (c.name === 'arg') for (const word of c.args) check('ARG', c, word.split('=')[0]);
        if (c.name === 'env') for (let i = 0; i < c.args.length; i += 3) check('ENV', c, c.args[i]);
      }
    }
  },
};
