// createBuildDefinition: the Dockerfile becomes a DAG by converting the target stage, which
// converts the stages it reads on demand (each once), so stages the target does not need never
// enter the graph.
import { posix } from 'node:path';
import { closest, isTsbuildError } from '../../src/errors/index.ts';
import type { ImageConfig } from '../../src/image/index.ts';
import { createVertex, type Platform, type Vertex } from '../../src/llb/index.ts';
import type { DockerfileAst, Instruction } from '../parser/ast.ts';
import { parseDockerfile } from '../parser/parser.ts';
import type { BuildDefinition, BuildWarning, FrontendOptions } from '../types.ts';
import { dispatchArg, globalArgs } from './args.ts';
import { dispatchCmd, dispatchEntrypoint, dispatchHealthcheck } from './command-config.ts';
import { dispatchEnv, dispatchLabel, dispatchMaintainer, dispatchOnbuild, dispatchShell, dispatchStopSignal, dispatchUser, dispatchVolume } from './config.ts';
import { dispatchCopy } from './copy.ts';
import { envFromStrings, getEnv } from './env.ts';
import { instructionError, locate, type SourceText } from './errors.ts';
import { createExpansionBudget, expand } from './expand.ts';
import { dispatchExpose } from './expose.ts';
import { checkInstruction, instructionFlags } from './instructions.ts';
import { parsePlatformText } from '../../src/llb/index.ts';
import { dispatchRun } from './run.ts';
import { checkStageCycles } from './stage-graph.ts';
import { findStage, splitStages, stageNotFound } from './stages.ts';
import { countSteps, DEFAULT_PATH, stepMeta, type ConvertContext, type StageDef, type StageState } from './state.ts';
import { dispatchWorkdir } from './workdir.ts';
import { lintDockerfile, lintFailure } from '../lint/index.ts';

export async function createBuildDefinition(opts: FrontendOptions): Promise<BuildDefinition> {
  const file = opts.dockerfilePath;
  const ast = parseDockerfile(opts.dockerfile, file);
  const lines = opts.dockerfile.split('\n');
  const src = { file, lines };
  for (const node of ast.instructions) checkInstruction(src, node);
  const { metaArgs, stages } = splitStages(src, ast);
  checkStageCycles(src, stages);
  // BuildKit checks every build: violations are warnings, or fail it under # check=error=true
  const lint = lintDockerfile({ dockerfile: opts.dockerfile, dockerfilePath: file, buildArgs: opts.buildArgs, target: opts.target, platform: opts.platform, ast });
  if (lint.failOnViolation && lint.violations.length > 0) throw lintFailure(lint, file);
  const escapeToken = ast.directives.escape;
  const consumedArgs = new Set<string>();
  const expansionBudget = createExpansionBudget();
  const ctx: ConvertContext = {
    ...src,
    opts,
    escapeToken,
    stages,
    expansionBudget,
    globalArgs: globalArgs({ ...src, escapeToken, expansionBudget }, metaArgs, opts.buildArgs, opts.platform, consumedArgs),
    consumedArgs,
    localSources: new Map(),
    converted: new Map(),
    warnings: [...syntaxWarnings(ast, src), ...lint.violations.map((v) => ({ message: `${v.rule}: ${v.message}`, location: v.location }))],
    platform: opts.platform,
    resolveSource: (from, node, st) => resolveSource(ctx, from, node, st),
  };
  let target = stages[stages.length - 1];
  if (opts.target !== undefined) target = findStage(stages, opts.target) ?? throwErr(stageNotFound(src, stages, opts.target));
  const st = await convertStage(ctx, target);

  // SOURCE_DATE_EPOCH sets the image's times (control/created-times.ts), as in BuildKit, used or not
  const unused = Object.keys(opts.buildArgs).filter((k) => !consumedArgs.has(k) && k !== 'SOURCE_DATE_EPOCH');
  if (unused.length > 0) ctx.warnings.push({ message: `One or more build-args [${unused.join(' ')}] were not consumed` });
  return { root: st.vertex, config: st.config, target: target.name ?? String(target.index), warnings: ctx.warnings };
}

/** `# syntax=` names a frontend image to run; tsbuild always uses its own, and says so. */
function syntaxWarnings(ast: DockerfileAst, src: SourceText): BuildWarning[] {
  const syntax = ast.directives.syntax;
  if (syntax === undefined) return [];
  const line = src.lines.findIndex((l) => /^\s*#\s*syntax\s*=/i.test(l));
  return [{
    message: `# syntax=${syntax}: the built-in Dockerfile frontend is used; frontend images are not run`,
    location: line < 0 ? undefined : { file: src.file, line: line + 1, text: src.lines[line].replace(/\r$/, '') },
  }];
}

function throwErr(e: Error): never {
  throw e;
}

function convertStage(ctx: ConvertContext, def: StageDef): Promise<StageState> {
  let p = ctx.converted.get(def.index);
  if (!p) {
    p = doConvertStage(ctx, def);
    ctx.converted.set(def.index, p);
  }
  return p;
}

async function doConvertStage(ctx: ConvertContext, def: StageDef): Promise<StageState> {
  // Yield first, so a stage that reads another returns its promise instead of converting the
  // other on the same stack: 2,000 chained `FROM prev AS next` overflowed the stack otherwise.
  await undefined;
  const node = def.from;
  const flags = instructionFlags(ctx, node);
  const base = expand(ctx, node, ctx.globalArgs, node.args[0]);
  const platformText = flags.strings.has('platform') ? expand(ctx, node, ctx.globalArgs, flags.strings.get('platform')!) : undefined;
  const platform = platformText ? parsePlatform(ctx, node, platformText) : ctx.platform;
  const displayName = def.name ?? `stage-${def.index}`;
  const fresh = (config: ImageConfig, vertex: Vertex | undefined, fromImage: boolean): StageState => {
    if (getEnv(envFromStrings(config.config.Env), 'PATH') === undefined) config.config.Env = [...(config.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    return { def, displayName, vertex, config, env: envFromStrings(config.config.Env), args: [], step: 0, totalSteps: countSteps(def, fromImage), cmdSet: false };
  };

  let st: StageState;
  const earlier = findStage(ctx.stages.slice(0, def.index), base);
  const named = ctx.opts.namedContexts[base];
  if (earlier && !/^\d+$/.test(base)) {
    const parent = await convertStage(ctx, earlier);
    st = { ...parent, def, displayName, config: structuredClone(parent.config), step: 0, totalSteps: countSteps(def, false), cmdSet: false };
  } else if (named?.type === 'local') {
    st = fresh(emptyConfig(platform), localSource(ctx, base, []), false);
  } else if (base.toLowerCase() === 'scratch' && !named) {
    st = fresh(emptyConfig(platform), undefined, false);
  } else {
    const ref = named?.type === 'image' ? named.ref : base;
    const st0 = fresh(emptyConfig(platform), undefined, true);
    const image = await resolveImage(ctx, ref, platform, node).catch((e: unknown) => {
      // `FROM buidler` is more likely a misspelt stage than a missing image, as BuildKit suggests
      const near = closest(base, ctx.stages.slice(0, def.index).flatMap((s) => (s.name ? [s.name] : [])));
      if (isTsbuildError(e) && near && !e.hint) e.hint = `did you mean the stage "${near}"?`;
      throw e;
    });
    const config = structuredClone(image.config);
    config.config ??= {};
    // a relative WorkingDir (no builder writes one) is taken from /, as BuildKit's llb Dir takes it;
    // the runtime would refuse it as the cwd of every RUN
    const wd = config.config.WorkingDir;
    if (wd && !wd.startsWith('/')) config.config.WorkingDir = posix.resolve('/', wd);
    st = fresh({ ...config, os: platform.os, architecture: platform.architecture, variant: platform.variant, rootfs: { type: 'layers', diff_ids: [] } }, undefined, true);
    st.vertex = createVertex({ kind: 'source', source: 'image', ref: image.ref, digest: image.digest, platform }, [], stepMeta(ctx, st0, node, `FROM ${image.ref}`));
    st.step = 1;
  }

  const triggers = st.config.config.OnBuild ?? [];
  if (triggers.length > 0) {
    st.config.config.OnBuild = null;
    const parsed = parseDockerfile(triggers.join('\n'), `${ctx.file} (ONBUILD of ${base})`).instructions;
    st.totalSteps += parsed.length;
    for (const trigger of parsed) await dispatch(ctx, st, { ...trigger, startLine: node.startLine, endLine: node.endLine });
  }
  for (const command of def.commands) await dispatch(ctx, st, command);
  return st;
}

async function dispatch(ctx: ConvertContext, st: StageState, node: Instruction): Promise<void> {
  switch (node.name) {
    case 'run': return dispatchRun(ctx, st, node);
    case 'copy':
    case 'add': return dispatchCopy(ctx, st, node);
    case 'workdir': return dispatchWorkdir(ctx, st, node);
    case 'arg': return dispatchArg(ctx, st, node);
    case 'env': return dispatchEnv(ctx, st, node);
    case 'label': return dispatchLabel(ctx, st, node);
    case 'user': return dispatchUser(ctx, st, node);
    case 'cmd': return dispatchCmd(ctx, st, node);
    case 'entrypoint': return dispatchEntrypoint(ctx, st, node);
    case 'expose': return dispatchExpose(ctx, st, node);
    case 'volume': return dispatchVolume(ctx, st, node);
    case 'stopsignal': return dispatchStopSignal(ctx, st, node);
    case 'shell': return dispatchShell(ctx, st, node);
    case 'healthcheck': return dispatchHealthcheck(ctx, st, node);
    case 'maintainer': return dispatchMaintainer(ctx, st, node);
    case 'onbuild': return dispatchOnbuild(ctx, st, node);
    default: throw instructionError(ctx, node, `${node.command.toUpperCase()} is not allowed here`);
  }
}

async function resolveSource(ctx: ConvertContext, from: string | undefined, node: Instruction, st: StageState): Promise<Vertex | undefined> {
  if (from === undefined) return localSource(ctx, 'context', [...ctx.opts.excludePatterns]);
  // any stage, even a later one, as in BuildKit; checkStageCycles has refused loops
  const stage = findStage(ctx.stages, from);
  if (stage) return (await convertStage(ctx, stage)).vertex;
  const named = ctx.opts.namedContexts[from];
  if (named?.type === 'local') return localSource(ctx, from, []);
  const ref = named?.type === 'image' ? named.ref : from;
  // an index or a near-miss of a stage name is a mistake, anything else names an image
  const names = ctx.stages.flatMap((s) => (s.name ? [s.name] : []));
  if (/^\d+$/.test(from) || (!named && closest(from, names))) throw stageNotFound(ctx, ctx.stages, from, node);
  const image = await resolveImage(ctx, ref, ctx.platform, node);
  return createVertex({ kind: 'source', source: 'image', ref: image.ref, digest: image.digest, platform: ctx.platform }, [], { name: `[${st.displayName}] FROM ${image.ref}`, location: locate(ctx, node) });
}

function localSource(ctx: ConvertContext, name: string, excludePatterns: string[]): Vertex {
  let v = ctx.localSources.get(name);
  if (!v) {
    v = createVertex({ kind: 'source', source: 'local', name, excludePatterns }, [], { name: `[internal] load build context ${name}` });
    ctx.localSources.set(name, v);
  }
  return v;
}

async function resolveImage(ctx: ConvertContext, ref: string, platform: Platform, node: Instruction) {
  try {
    return await ctx.opts.resolveImage(ref, platform);
  } catch (e) {
    if (isTsbuildError(e) && !e.location) e.location = locate(ctx, node);
    throw e;
  }
}

function emptyConfig(platform: Platform): ImageConfig {
  return { architecture: platform.architecture, os: platform.os, variant: platform.variant, config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

function parsePlatform(ctx: ConvertContext, node: Instruction, text: string): Platform {
  const p = parsePlatformText(text, ctx.platform);
  if ('error' in p) throw instructionError(ctx, node, `invalid platform ${JSON.stringify(text)}: ${p.error}`, { hint: 'write it as os/arch[/variant], e.g. linux/amd64' });
  return p;
}
