// Builds what the rules look at: the stages (without the converter's refusals, so a Dockerfile
// with duplicate stage names can still be linted), which stages the target needs, the global
// ARG scope, and every variable expansion an instruction performs with what it left undefined.
// Nothing here resolves an image: a stage on an image starts from an environment we do not know.
import type { Platform } from '../../src/llb/index.ts';
import { platformArgs } from '../convert/args.ts';
import { fromReferences } from '../convert/stage-graph.ts';
import { DEFAULT_PATH } from '../convert/state.ts';
import type { DockerfileAst, Instruction } from '../parser/ast.ts';
import { expandWord } from '../shell-lex.ts';
import type { Expansion, LintModel, LintStage } from './types.ts';

export interface ModelOptions {
  file: string;
  lines: readonly string[];
  buildArgs: Readonly<Record<string, string>>;
  target?: string;
  platform: Platform;
}

/** Expands `word`, returning the result and which variables were set or unset; undefined on a syntax error (conversion reports those). */
export function expandMatches(word: string, env: ReadonlyMap<string, string>, escapeToken: string) {
  try {
    return expandWord(word, (k) => env.get(k), { escapeToken });
  } catch {
    return undefined;
  }
}

export function createLintModel(ast: DockerfileAst, opts: ModelOptions): LintModel {
  const escapeToken = ast.directives.escape;
  const metaArgs: Instruction[] = [];
  const stages: LintStage[] = [];
  const byName = new Map<string, LintStage>();
  for (const node of ast.instructions) {
    if (node.name === 'from') {
      const name = node.args.length === 3 ? node.args[2] : undefined;
      const base = byName.get((node.args[0] ?? '').toLowerCase());
      stages.push({ index: stages.length, name, from: node, commands: [], base, dispatched: true });
      if (name !== undefined && !byName.has(name.toLowerCase())) byName.set(name.toLowerCase(), stages[stages.length - 1]);
    } else if (stages.length > 0) stages[stages.length - 1].commands.push(node);
    else if (node.name === 'arg') metaArgs.push(node);
  }
  markDispatched(stages, opts.target);

  const platformEnv = new Map(platformArgs(opts.platform, opts.platform));
  const globalEnv = new Map(platformEnv);
  const defaultGlobalEnv = new Map(platformEnv);
  const globalArgKeys = new Set<string>();
  for (const node of metaArgs) {
    for (const word of node.args) {
      const [key, value] = splitArg(word);
      globalArgKeys.add(key);
      const given = Object.hasOwn(opts.buildArgs, key) ? opts.buildArgs[key] : undefined;
      const withArgs = given ?? (value === undefined ? undefined : expandMatches(value, globalEnv, escapeToken)?.result);
      if (withArgs !== undefined) globalEnv.set(key, withArgs);
      const byDefault = value === undefined ? undefined : expandMatches(value, defaultGlobalEnv, escapeToken)?.result;
      if (byDefault !== undefined) defaultGlobalEnv.set(key, byDefault);
    }
  }

  const model: LintModel = { file: opts.file, lines: opts.lines, ast, escapeToken, metaArgs, stages, buildArgs: opts.buildArgs, globalEnv, defaultGlobalEnv, globalArgKeys, expansions: [] };
  const scopes = new Map<number, Scope>();
  const scopeOf = (stage: LintStage): Scope => {
    let scope = scopes.get(stage.index);
    if (!scope) {
      scope = walkStage(model, stage, stage.base ? scopeOf(stage.base) : undefined);
      scopes.set(stage.index, scope);
    }
    return scope;
  };
  // in file order, so a base (always an earlier stage) has its scope before the stages on it:
  // no recursion down a chain of thousands of `FROM prev` stages
  for (const stage of stages) scopeOf(stage);
  return model;
}

interface Scope {
  env: Map<string, string>;
  /** ARGs declared in the stage (with or without a value): referencing them is never "undefined". */
  declared: Set<string>;
  envKnown: boolean;
}

const splitArg = (word: string): [string, string | undefined] => {
  const eq = word.indexOf('=');
  return eq < 0 ? [word, undefined] : [word.slice(0, eq), word.slice(eq + 1)];
};

/** Which words of an instruction the converter expands (BuildKit's single-word expansion set). */
function expandedWords(node: Instruction): string[] {
  const flag = (name: string) => node.flags.filter((f) => f.startsWith(`--${name}=`)).map((f) => f.slice(name.length + 3));
  switch (node.name) {
    case 'add':
    case 'copy':
      return [...node.args.filter((a) => !a.startsWith('<<')), ...flag('chown'), ...flag('chmod')];
    case 'expose':
    case 'stopsignal':
    case 'user':
    case 'volume':
    case 'workdir':
      return node.args;
    case 'label':
      return node.args.filter((_, i) => i % 3 !== 2);
    default:
      return [];
  }
}

function walkStage(model: LintModel, stage: LintStage, parent: Scope | undefined): Scope {
  const baseName = (stage.from.args[0] ?? '').toLowerCase();
  const scope: Scope = parent
    ? { env: new Map(parent.env), declared: new Set(parent.declared), envKnown: parent.envKnown }
    : { env: new Map([['PATH', DEFAULT_PATH]]), declared: new Set(), envKnown: baseName === 'scratch' };
  const record = (node: Instruction, word: string) => {
    const r = expandMatches(word, scope.env, model.escapeToken);
    if (!r) return undefined;
    const unmatched = [...r.unmatched].filter((v) => !scope.declared.has(v));
    if (unmatched.length > 0 && stage.dispatched) model.expansions.push({ node, stage, unmatched, defined: [...scope.env.keys()], envKnown: scope.envKnown });
    return r.result;
  };
  for (const node of stage.commands) {
    if (node.name === 'arg') {
      for (const word of node.args) {
        const [key, value] = splitArg(word);
        const given = Object.hasOwn(model.buildArgs, key) ? model.buildArgs[key] : undefined;
        const expanded = value === undefined ? undefined : record(node, value);
        const v = given ?? expanded ?? (value === undefined ? model.globalEnv.get(key) : undefined);
        scope.declared.add(key);
        if (v !== undefined) scope.env.set(key, v);
      }
    } else if (node.name === 'env') {
      for (let i = 0; i + 1 < node.args.length; i += 3) {
        const key = record(node, node.args[i]) ?? node.args[i];
        scope.env.set(key, record(node, node.args[i + 1]) ?? '');
      }
    } else {
      for (const word of expandedWords(node)) record(node, word);
    }
  }
  return scope;
}

/** With a target, only the stages it needs are dispatched; a missing target leaves all (the conversion reports it). */
function markDispatched(stages: LintStage[], target: string | undefined): void {
  if (target === undefined) return;
  const find = (ref: string) => stages.find((s) => s.name?.toLowerCase() === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
  const root = find(target);
  if (!root) return;
  for (const s of stages) s.dispatched = false;
  const byName = new Map<string, LintStage>();
  for (const s of stages) if (s.name !== undefined && !byName.has(s.name.toLowerCase())) byName.set(s.name.toLowerCase(), s);
  const stack = [root];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (s.dispatched) continue;
    s.dispatched = true;
    if (s.base) stack.push(s.base);
    for (const node of s.commands) for (const ref of fromReferences(node)) {
      const dep = byName.get(ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
      if (dep) stack.push(dep);
    }
  }
}
