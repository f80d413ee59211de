// control/: the engine. Its only surface: the CLI (and later a daemon or an API) comes in here.
//
// Option parsing is light and imported as it is. The engine itself (SQLite, the worker, tar, the
// frontend) is imported when it is first opened, so `tsbuild --help` loads none of it.
import type { Engine, EngineOptions } from './engine.ts';
import type { CheckInput, CheckReport } from './check.ts';

export {
  parseAddHost,
  parseBuildArg,
  parseBuildContext,
  parseEntitlement,
  parseNetworkMode,
  parseOutputSpec,
  parsePlatform,
  parseSecret,
  parseSsh,
  resolveBuildOptions,
} from './options.ts';
export type { BuildContextSpec, BuildOptions, ResolvedBuildOptions, SecretSpec, SshSpec } from './options.ts';
export { resolveStateRoot } from '../src/state/root.ts';
export { loadConfig, type Config } from '../src/config/index.ts';
export type { BuildRun, Engine, EngineOptions } from './engine.ts';
export type { BuildResult } from './run-build.ts';
export type { CheckInput, CheckReport } from './check.ts';
export type { ImageRow } from './list-images.ts';
export type { HistoryRow, ImageInspect } from './inspect-image.ts';
export type { RemoveResult } from './tag-image.ts';
export type { PullResult, PushResult, TransferOptions } from './transfer-image.ts';
export type { SaveOptions, SaveResult } from './save-images.ts';
export type { LoadedImage } from './load-image.ts';
export type { DuRecord, DuReport } from './du.ts';
export type { PruneOptions, PrunedRecord, PruneResult } from './prune.ts';
export type { ExportResult, OutputSpec } from '../exporter/index.ts';
export type { LintViolation } from '../frontend/index.ts';

/** Opens the state root once for any number of builds (control/engine.ts). */
export async function openEngine(opts: EngineOptions): Promise<Engine> {
  const { openEngine: open } = await import('./engine.ts');
  return open(opts);
}

/** `tsbuild check` needs no state root: the Dockerfile checks and a dry conversion, without an engine. */
export async function checkDockerfile(input: CheckInput): Promise<CheckReport> {
  const { runCheck } = await import('./check.ts');
  return runCheck(input);
}
