// What converting one stage carries from instruction to instruction: its filesystem vertex, the
// image config being built, the environment commands see, and the ARGs in scope.
import type { HistoryEntry, ImageConfig } from '../../src/image/index.ts';
import type { Platform, Vertex, VertexMeta } from '../../src/llb/index.ts';
import type { Instruction } from '../parser/ast.ts';
import type { BuildWarning, FrontendOptions } from '../types.ts';
import type { EnvList } from './env.ts';
import { locate, type SourceText } from './errors.ts';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface StageDef {
  index: number;
  /** Lower-cased `AS` name, if any. */
  name?: string;
  from: Instruction;
  commands: Instruction[];
}

export interface DeclaredArg {
  key: string;
  value?: string;
}

export interface StageState {
  def: StageDef;
  /** As progress shows it: the stage name, or `stage-N`. */
  displayName: string;
  /** The filesystem so far; undefined for an empty scratch stage. */
  vertex?: Vertex;
  config: ImageConfig;
  /** What RUN sees and what expansion reads: the config's Env plus ARG values. */
  env: EnvList;
  args: DeclaredArg[];
  /** Steps shown as `[name i/total]`: FROM of an image, RUN, COPY, ADD, WORKDIR. */
  step: number;
  totalSteps: number;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

export interface ConvertContext extends SourceText {
  opts: FrontendOptions;
  escapeToken: string;
  stages: StageDef[];
  /** ARGs before the first FROM, plus the automatic platform args. */
  globalArgs: EnvList;
  /** Build args some ARG in the built stages declared. */
  consumedArgs: Set<string>;
  /** One source vertex per context name, so identical reads merge. */
  localSources: Map<string, Vertex>;
  converted: Map<number, Promise<StageState>>;
  warnings: BuildWarning[];
  platform: Platform;
  /** Shared by every expansion of the build (./expand.ts). */
  expansionBudget: { left: number };
  /** The vertex a COPY/ADD reads from: the main context (undefined), a stage, a named context or an image. */
  resolveSource: (from: string | undefined, node: Instruction, st: StageState) => Promise<Vertex | undefined>;
}

/** Vertex metadata for a step of a stage, numbering it as BuildKit does. */
export function stepMeta(ctx: ConvertContext, st: StageState, node: Instruction, text: string): VertexMeta {
  st.step++;
  const width = String(st.totalSteps).length;
  // a Dockerfile of one stage numbers its steps without the stage's name (`[1/4]`), as BuildKit does
  const stage = ctx.stages.length === 1 ? '' : `${st.displayName} `;
  const prefix = st.totalSteps > 0 ? `[${stage}${String(st.step).padStart(width)}/${st.totalSteps}] ` : '';
  return { name: prefix + text, stage: st.def.name ?? st.displayName, location: locate(ctx, node) };
}

/** The instruction as shown in progress: its word upper-cased, the rest as written. */
export function displayText(node: Instruction): string {
  const original = node.original.trim();
  const rest = original.slice(node.command.length).trim();
  return rest === '' ? node.command.toUpperCase() : `${node.command.toUpperCase()} ${rest}`;
}

/** Appends a history entry; entries without a layer are marked `empty_layer`. */
export function addHistory(st: StageState, createdBy: string, layer: boolean): void {
  const entry: HistoryEntry = { created_by: createdBy, comment: HISTORY_COMMENT };
  if (!layer) entry.empty_layer = true;
  st.config.history = [...(st.config.history ?? []), entry];
}

export function countSteps(def: StageDef, fromImage: boolean): number {
  let total = fromImage ? 1 : 0;
  for (const c of def.commands) if (['run', 'copy', 'add', 'workdir'].includes(c.name)) total++;
  return total;
}
