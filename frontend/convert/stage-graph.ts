// Which stages each stage reads, found before anything converts: FROM an earlier stage, COPY
// --from and RUN --mount from= (which, as in BuildKit, may name any stage, even a later one). A
// cycle there would make conversion wait on itself forever, so it is refused up front, naming
// the stage and the instructions that close the loop.
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import type { Instruction } from '../parser/ast.ts';
import { locate, type SourceText } from './errors.ts';
import { findStage } from './stages.ts';
import type { StageDef } from './state.ts';
import { splitCsv } from './mount-spec.ts';

export interface StageEdge {
  to: StageDef;
  /** The instruction that reads `to`. */
  via: Instruction;
}

/** The stage names (or indexes) an instruction reads with --from / --mount from=, unexpanded. */
export function fromReferences(node: Instruction): string[] {
  const refs: string[] = [];
  for (const flag of node.flags) {
    const m = /^--(from|mount)=(.*)$/s.exec(flag);
    if (!m) continue;
    if (m[1] === 'from' && (node.name === 'copy' || node.name === 'add')) refs.push(m[2]);
    if (m[1] === 'mount' && node.name === 'run') {
      let fields: string[] = [];
      try {
        fields = splitCsv(m[2]);
      } catch {
        continue; // the RUN reports its malformed --mount when it converts
      }
      for (const f of fields) if (/^from=/i.test(f)) refs.push(f.slice(5));
    }
  }
  return refs;
}

export function stageEdges(stages: readonly StageDef[], def: StageDef): StageEdge[] {
  const edges: StageEdge[] = [];
  if (!/^\d+$/.test(def.from.args[0] ?? '')) {
    const base = findStage(stages.slice(0, def.index), def.from.args[0] ?? '');
    if (base) edges.push({ to: base, via: def.from });
  }
  for (const node of def.commands) {
    for (const ref of fromReferences(node)) {
      const to = findStage(stages, ref);
      if (to) edges.push({ to, via: node });
    }
  }
  return edges;
}

/** Throws `circular dependency detected on stage: NAME` when stages read each other in a loop. */
export function checkStageCycles(src: SourceText, stages: readonly StageDef[]): void {
  const done = new Set<number>();
  const onPath = new Set<number>();
  const visit = (def: StageDef, via: Instruction[]): Instruction[] | undefined => {
    if (done.has(def.index)) return undefined;
    done.add(def.index);
    onPath.add(def.index);
    for (const edge of stageEdges(stages, def)) {
      const path = [...via, edge.via];
      if (onPath.has(edge.to.index)) return path;
      const cycle = visit(edge.to, path);
      if (cycle) return cycle;
    }
    onPath.delete(def.index);
    return undefined;
  };
  for (const def of stages) {
    const cycle = visit(def, []);
    if (!cycle) continue;
    const name = def.name ?? `stage-${def.index}`;
    const [first, ...rest] = cycle;
    throw invalid(ErrorCodes.DOCKERFILE_SEMANTIC, `${src.file}:${first.startLine}: circular dependency detected on stage: ${name}`, {
      location: locate(src, first),
      notes: rest.map((n) => ({ message: 'which reads the next stage of the loop here', location: locate(src, n) })),
      hint: 'a stage cannot read itself, directly or through other stages; copy from a stage that does not depend on this one',
    });
  }
}
