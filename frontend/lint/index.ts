// lintDockerfile: BuildKit's Dockerfile checks, run on the text alone. It resolves no image and
// touches no network; `# check=skip=...;error=true` (or the BUILDKIT_DOCKERFILE_CHECK build arg)
// configures it, and a `# check=skip=...` comment above one instruction silences rules there.
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import type { Platform } from '../../src/llb/index.ts';
import type { DockerfileAst, Instruction } from '../parser/ast.ts';
import { parseDockerfile } from '../parser/parser.ts';
import { CheckConfigError, mergeCommentConfig, parseCheckConfig, type CheckConfig } from './check-config.ts';
import { createLintModel } from './model.ts';
import { LINT_RULES } from './registry.ts';
import type { LintViolation } from './types.ts';

export type { LintRule, LintViolation } from './types.ts';
export { LINT_RULES } from './registry.ts';

export interface LintOptions {
  dockerfile: string;
  /** As messages name it. */
  dockerfilePath: string;
  buildArgs?: Readonly<Record<string, string>>;
  /** Check only what this stage needs (instruction-level rules); default: every stage. */
  target?: string;
  platform?: Platform;
  /** An already parsed Dockerfile, to avoid parsing twice. */
  ast?: DockerfileAst;
}

export interface LintResult {
  /** Sorted by line, then rule. */
  violations: LintViolation[];
  /** `# check=error=true`: violations fail the check (and the build). */
  failOnViolation: boolean;
}

export function lintDockerfile(opts: LintOptions): LintResult {
  const file = opts.dockerfilePath;
  const ast = opts.ast ?? parseDockerfile(opts.dockerfile, file);
  const lines = opts.dockerfile.split('\n').map((l) => l.replace(/\r$/, ''));
  const buildArgs = opts.buildArgs ?? {};
  const config = fileConfig(ast, buildArgs, file, lines);
  if (config.skipAll) return { violations: [], failOnViolation: config.error };
  const model = createLintModel(ast, { file, lines, buildArgs, target: opts.target, platform: opts.platform ?? { os: 'linux', architecture: 'amd64' } });

  const violations: LintViolation[] = [];
  const seen = new Set<string>();
  for (const rule of LINT_RULES) {
    if (config.skip.has(rule.name)) continue;
    rule.check(model, (at, message) => {
      const node: Instruction | undefined = typeof at === 'number' ? undefined : at;
      const line = typeof at === 'number' ? at : at.startLine;
      if (node) {
        const local = mergeCommentConfig(config, node.comments);
        if (local.skipAll || local.skip.has(rule.name)) return;
      }
      const key = `${rule.name}:${line}:${message}`;
      if (seen.has(key)) return;
      seen.add(key);
      const endLine = node && node.endLine > node.startLine ? node.endLine : undefined;
      violations.push({ rule: rule.name, message, description: rule.description, location: { file, line, endLine, text: lines[line - 1] } });
    });
  }
  violations.sort((a, b) => a.location.line - b.location.line || a.rule.localeCompare(b.rule));
  return { violations, failOnViolation: config.error };
}

/** The file's `# check=` directive, or the BUILDKIT_DOCKERFILE_CHECK build arg, which wins as in BuildKit. */
function fileConfig(ast: DockerfileAst, buildArgs: Readonly<Record<string, string>>, file: string, lines: readonly string[]): CheckConfig {
  const fromArg = Object.hasOwn(buildArgs, 'BUILDKIT_DOCKERFILE_CHECK');
  const text = fromArg ? buildArgs.BUILDKIT_DOCKERFILE_CHECK : ast.directives.check;
  try {
    return parseCheckConfig(text);
  } catch (e) {
    if (!(e instanceof CheckConfigError)) throw e;
    const line = lines.findIndex((l) => /^\s*#\s*check\s*=/i.test(l));
    const where = fromArg ? '--build-arg BUILDKIT_DOCKERFILE_CHECK' : `${file}:${line + 1}`;
    throw invalid(ErrorCodes.DOCKERFILE_SYNTAX, `${where}: failed to parse check options: ${e.message}`, {
      location: fromArg || line < 0 ? undefined : { file, line: line + 1, text: lines[line] },
      hint: 'write it as # check=skip=RULE1,RULE2;error=true',
    });
  }
}

/** `lint violation found for rules: A, B`, as BuildKit fails a build under `# check=error=true`. */
export function lintFailure(result: LintResult, file: string) {
  const rules = [...new Set(result.violations.map((v) => v.rule))];
  return invalid(ErrorCodes.DOCKERFILE_LINT, `${file}: lint violation found for rules: ${rules.join(', ')}`, {
    notes: result.violations.map((v) => ({ message: `${v.rule}: ${v.message}`, location: v.location })),
    hint: 'fix them, or skip a rule with # check=skip=RULE',
  });
}
