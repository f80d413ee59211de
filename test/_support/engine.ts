// An engine on a fresh busybox root, as the control and worker tests drive one in-process: builds
// with no progress, GC off unless a test turns it on, and everything removed afterwards.
import { execFileSync } from 'node:child_process';
import { openEngine, resolveBuildOptions, type BuildResult, type Engine, type EngineOptions } from '../../control/index.ts';
import type { ProgressSink } from '../../src/progress/index.ts';
import { buildBusybox, removeDir, tempDir } from './tsbuild.ts';

export const quiet: ProgressSink = { emit: () => {} };
/** No automatic GC: a test prunes when it says so. */
export const noGc = { path: undefined, limits: {}, gc: { enabled: false } };

/** withEngine's options for an engine that reads the root's own tsbuild.toml (GC as it says). */
export const rootConfig: Omit<EngineOptions, 'root'> = {};

/** Builds `context` (its Dockerfile) with these tags. */
export function build(engine: Engine, context: string, tags: string[] = [], progress: ProgressSink = quiet): Promise<BuildResult> {
  return engine.build(resolveBuildOptions({ context, tags }), { progress });
}

/** What `du -sb` says the root holds. */
export const duSb = (root: string) => Number(execFileSync('du', ['-sb', root], { encoding: 'utf8' }).split('\t')[0]);

/** Runs `fn` on a fresh root with busybox built in; removes it, and `cleanup`, afterwards. */
export async function withBusyboxRoot<T>(cleanup: readonly string[], fn: (root: string) => Promise<T>): Promise<T> {
  const root = tempDir('tsbuild-root-');
  try {
    await buildBusybox(root);
    return await fn(root);
  } finally {
    for (const d of [root, ...cleanup]) removeDir(d);
  }
}

/** Runs `fn` on an engine opened on `root` (GC off unless `opts.config` says otherwise), closing it afterwards. */
export async function withEngine<T>(root: string, fn: (engine: Engine) => Promise<T>, opts: Omit<EngineOptions, 'root'> = { config: noGc }): Promise<T> {
  const engine = await openEngine({ root, ...opts });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
