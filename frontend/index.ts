// The frontend: Dockerfile text → instructions → an op DAG plus the image config.
export type { DockerfileAst, Instruction, Heredoc, ParserDirectives, ParseWarning } from './parser/ast.ts';
export { parseDockerfile } from './parser/parser.ts';
export { dumpAst, dumpInstruction } from './parser/dump.ts';
export { expandWord, processWord, processWords, ShellLexError } from './shell-lex.ts';
export type { EnvLookup, ShellLexOptions, ExpansionResult } from './shell-lex.ts';
export type * from './types.ts';
export { createBuildDefinition } from './convert/build.ts';
export { lintDockerfile, lintFailure, LINT_RULES } from './lint/index.ts';
export type { LintOptions, LintResult, LintRule, LintViolation } from './lint/index.ts';
