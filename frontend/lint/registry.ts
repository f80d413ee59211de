// Every lint rule, once. Adding a rule is one file in rules/ and one line here.
import { consistentInstructionCasing } from './rules/consistent-instruction-casing.ts';
import { duplicateStageName } from './rules/duplicate-stage-name.ts';
import { exposeInvalidFormat, exposeProtoCasing } from './rules/expose-format.ts';
import { fromAsCasing } from './rules/from-as-casing.ts';
import { fromPlatformFlagConstDisallowed } from './rules/from-platform-flag-const-disallowed.ts';
import { invalidDefaultArgInFrom } from './rules/invalid-default-arg-in-from.ts';
import { jsonArgsRecommended } from './rules/json-args-recommended.ts';
import { legacyKeyValueFormat } from './rules/legacy-key-value-format.ts';
import { maintainerDeprecated } from './rules/maintainer-deprecated.ts';
import { multipleInstructionsDisallowed } from './rules/multiple-instructions-disallowed.ts';
import { noEmptyContinuation } from './rules/no-empty-continuation.ts';
import { redundantTargetPlatform } from './rules/redundant-target-platform.ts';
import { reservedStageName } from './rules/reserved-stage-name.ts';
import { secretsUsedInArgOrEnv } from './rules/secrets-used-in-arg-or-env.ts';
import { stageNameCasing } from './rules/stage-name-casing.ts';
import { undefinedArgInFrom } from './rules/undefined-arg-in-from.ts';
import { undefinedVar } from './rules/undefined-var.ts';
import { workdirRelativePath } from './rules/workdir-relative-path.ts';
import type { LintRule } from './types.ts';

export const LINT_RULES: readonly LintRule[] = [
  stageNameCasing,
  fromAsCasing,
  noEmptyContinuation,
  consistentInstructionCasing,
  duplicateStageName,
  reservedStageName,
  jsonArgsRecommended,
  maintainerDeprecated,
  undefinedArgInFrom,
  undefinedVar,
  workdirRelativePath,
  multipleInstructionsDisallowed,
  legacyKeyValueFormat,
  secretsUsedInArgOrEnv,
  invalidDefaultArgInFrom,
  fromPlatformFlagConstDisallowed,
  redundantTargetPlatform,
  exposeProtoCasing,
  exposeInvalidFormat,
];
