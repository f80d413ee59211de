// `tsbuild check [-f FILE] [--build-arg K=V] [--target T] CONTEXT`, and `tsbuild build --check`:
// report Dockerfile check violations and conversion errors without building. Exits 0 when the
// Dockerfile would build and no violation is configured as an error (`# check=error=true`).
import type { Command } from 'commander';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { checkDockerfile, parseBuildArg, parsePlatform, resolveBuildOptions, type LintViolation } from '../../control/index.ts';
import { escapeControl } from '../../src/progress/index.ts';
import { collect } from '../repeatable.ts';

export interface CheckFlags {
  file?: string;
  buildArg?: string[];
  target?: string;
  platform?: string;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check a Dockerfile against the build rules, without building')
    .argument('<context>', 'build context directory')
    .option('-f, --file <file>', 'the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect)
    .option('--target <stage>', 'check this stage and the stages it needs')
    .option('--platform <os/arch>', 'target platform (default: the host\'s, e.g. linux/amd64)')
    .action((context: string, flags: CheckFlags) => runCheckCommand(context, flags));
}

/** Runs the check and prints its report; throws (exit 1) on an error or a violation configured as one. */
export async function runCheckCommand(context: string, flags: CheckFlags, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const buildArgs: Record<string, string> = {};
  for (const a of flags.buildArg ?? []) {
    const kv = parseBuildArg(a);
    if (kv) buildArgs[kv[0]] = kv[1];
  }
  const opts = resolveBuildOptions({ context, file: flags.file, buildArgs, target: flags.target });
  const report = await checkDockerfile({
    contextDir: opts.contextDir,
    dockerfilePath: opts.dockerfilePath,
    dockerfileName: opts.dockerfileName,
    buildArgs,
    target: flags.target,
    platform: flags.platform === undefined ? opts.platform : parsePlatform(flags.platform),
  });
  // violations quote the Dockerfile: its control characters must not reach the terminal raw
  for (const v of report.violations) out.write(`${escapeControl(formatViolation(v))}\n\n`);
  const n = report.violations.length;
  out.write(n === 0 ? 'Check complete, no warnings found.\n' : `Check complete, ${n} warning${n === 1 ? ' has' : 's have'} been found!\n`);
  if (report.error) throw report.error;
  if (report.failOnViolation && n > 0) {
    const rules = [...new Set(report.violations.map((v) => v.rule))];
    throw invalid(ErrorCodes.DOCKERFILE_LINT, `${opts.dockerfileName}: lint violation found for rules: ${rules.join(', ')}`, { hint: 'the Dockerfile sets # check=error=true; fix these or skip a rule with # check=skip=RULE' });
  }
}

/** One violation as the check prints it: where, which rule, what, why, and the line. */
export function formatViolation(v: LintViolation): string {
  const width = String(v.location.line).length;
  const lines = [`${v.location.file}:${v.location.line}: ${v.rule}: ${v.message}`, `  ${v.description}`];
  if (v.location.text !== undefined) lines.push(`  ${String(v.location.line).padStart(width)} | ${v.location.text}`);
  return lines.join('\n');
}
