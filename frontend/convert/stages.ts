// Splits the instructions into the global ARGs and the stages, and finds a stage by name or index.
import { closest, ErrorCodes, invalid } from '../../src/errors/index.ts';
import type { DockerfileAst, Instruction } from '../parser/ast.ts';
import { instructionError, locate, type SourceText } from './errors.ts';
import type { StageDef } from './state.ts';

export function splitStages(src: SourceText, ast: DockerfileAst): { metaArgs: Instruction[]; stages: StageDef[] } {
  const metaArgs: Instruction[] = [];
  const stages: StageDef[] = [];
  for (const node of ast.instructions) {
    if (node.name === 'from') {
      // a reused name is legal, as in BuildKit (the DuplicateStageName check warns); findStage
      // settles which of the stages a reference means
      const name = node.args.length === 3 ? node.args[2].toLowerCase() : undefined;
      stages.push({ index: stages.length, name, from: node, commands: [] });
    } else if (stages.length > 0) stages[stages.length - 1].commands.push(node);
    else if (node.name === 'arg') metaArgs.push(node);
    else throw instructionError(src, node, `${node.command.toUpperCase()} before the first FROM: no build stage in current context`, { hint: 'only ARG may come before FROM' });
  }
  if (stages.length === 0) {
    throw invalid(ErrorCodes.DOCKERFILE_SEMANTIC, `${src.file}: no build stage: the Dockerfile has no FROM instruction`, { location: { file: src.file, line: 1 } });
  }
  return { metaArgs, stages };
}

/**
 * A stage named `ref` (case-insensitive) or at index `ref`, among `candidates`. A name used twice
 * means its last stage among them, as BuildKit's name table keeps the last one added: so `FROM a`
 * (given only the stages before it) takes the latest `a` so far, and `COPY --from=a` or
 * `--target a` the Dockerfile's last.
 */
export function findStage(candidates: readonly StageDef[], ref: string): StageDef | undefined {
  const lower = ref.toLowerCase();
  const byName = candidates.findLast((s) => s.name === lower);
  if (byName) return byName;
  return /^\d+$/.test(ref) ? candidates.find((s) => s.index === Number(ref)) : undefined;
}

export function stageNotFound(src: SourceText, stages: readonly StageDef[], ref: string, node?: Instruction) {
  const near = closest(ref, stages.flatMap((s) => (s.name ? [s.name] : [])));
  const location = node ? locate(src, node, ref) : undefined;
  const where = location ? `${src.file}:${location.line}${location.column !== undefined ? `:${location.column}` : ''}: ` : '';
  return invalid(ErrorCodes.STAGE_NOT_FOUND, `${where}stage ${JSON.stringify(ref)} not found`, {
    hint: near ? `did you mean ${JSON.stringify(near)}?` : `stages: ${stages.map((s) => s.name ?? String(s.index)).join(', ')}`,
    location,
  });
}
