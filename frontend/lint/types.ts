// The linter's vocabulary: a rule looks at the parsed Dockerfile (a LintModel) and reports
// violations at instructions or lines; the runner applies `# check=` configuration and sorts.
import type { SourceLocation } from '../../src/errors/index.ts';
import type { DockerfileAst, Instruction } from '../parser/ast.ts';

export interface LintViolation {
  rule: string;
  /** What is wrong here, e.g. `Stage name 'Build' should be lowercase`. */
  message: string;
  /** What the rule is about, the same for every violation of it. */
  description: string;
  location: SourceLocation;
}

export interface LintStage {
  index: number;
  /** The `AS` name as written (casing kept), if any. */
  name?: string;
  from: Instruction;
  commands: Instruction[];
  /** The earlier stage FROM names, if it names one. */
  base?: LintStage;
  /** True when the target needs the stage: instruction-level rules look only at these, as BuildKit checks only what it dispatches. */
  dispatched: boolean;
}

/** One variable expansion an instruction performs, with what it referenced but nothing defined. */
export interface Expansion {
  node: Instruction;
  stage: LintStage;
  unmatched: string[];
  /** Names defined at that point, for "did you mean". */
  defined: string[];
  /** False when the stage sits on an image whose environment the linter does not know (it resolves nothing). */
  envKnown: boolean;
}

export interface LintModel {
  file: string;
  lines: readonly string[];
  ast: DockerfileAst;
  escapeToken: string;
  metaArgs: Instruction[];
  stages: LintStage[];
  buildArgs: Readonly<Record<string, string>>;
  /** Global scope as FROM lines see it: platform args plus global ARGs with a value (build args applied). */
  globalEnv: ReadonlyMap<string, string>;
  /** The same scope with only the ARG defaults, as if no --build-arg were given. */
  defaultGlobalEnv: ReadonlyMap<string, string>;
  /** Every global ARG key, with or without a value. */
  globalArgKeys: ReadonlySet<string>;
  expansions: Expansion[];
}

export type Report = (at: Instruction | number, message: string) => void;

export interface LintRule {
  name: string;
  description: string;
  check(model: LintModel, report: Report): void;
}
