// control/: the engine. Its only surface: the CLI (and later a daemon or an API) comes in here.
//
// Option parsing is light and imported as it is. The engine itself (SQLite, the worker, tar, the
// frontend) is imported when it is first opened, so `tsbuild --help` loads none of it.
import type { Engine, EngineOptions } from './engine.ts';
import type { CheckInput, CheckReport } from './check.ts';
import type { ConfigReport } from './describe-config.ts';
import type { ImageDiff } from './diff-images.ts';
import type { PreparedContext } from './context-source.ts';
import type { PushResult, TransferOptions } from './transfer-image.ts';
import type { LoginOptions as LoginInput, LoginResult as LoginReport } from '../src/registry/index.ts';

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
export { stdoutOutput } from './parse-output.ts';
export { parseLabel } from './build-labels.ts';
export { buildMetadata, type BuildMetadata } from './build-metadata.ts';
export type { BuildContextSpec, BuildOptions, ResolvedBuildOptions, SecretSpec, SshSpec } from './options.ts';
export { resolveStateRoot } from '../src/state/root.ts';
export { parseCacheFrom, parseCacheTo, type CacheExportSpec, type CacheImportSpec } from './cache-spec.ts';
export { loadConfig, useConfigFile, type Config } from '../src/config/index.ts';
export type { BuildRun, Engine, EngineOptions } from './engine.ts';
export type { BuildResult } from './run-build.ts';
export type { CheckInput, CheckReport } from './check.ts';
export type { ConfigReport, ConfigRow } from './describe-config.ts';
export type { ImageDiff } from './diff-images.ts';
export type { PreparedContext } from './context-source.ts';
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
// `tsbuild login` / `logout` need no engine and no state root, only the Docker config file and the registry
export type { LoginOptions as LoginInput, LoginResult as LoginReport } from '../src/registry/index.ts';

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

/** `tsbuild config`: the effective configuration and where each value came from; needs no engine. */
export async function describeConfig(root: string): Promise<ConfigReport> {
  const { describeConfig: describe } = await import('./describe-config.ts');
  return describe(root);
}

/**
 * `tsbuild diff A B`: each side a stored image (tag, digest or id), an OCI layout directory or an
 * image tarball. The state root is opened only when a side names a stored image.
 */
export async function diffImages(root: string, a: string, b: string): Promise<ImageDiff> {
  const [{ openImageSource }, { listImage, compareListings }] = await Promise.all([import('./image-source.ts'), import('./diff-images.ts')]);
  let engine: Engine | undefined;
  const store = async () => {
    engine ??= await openEngine({ root });
    return engine.store();
  };
  try {
    const list = async (ref: string) => {
      const src = await openImageSource(ref, store);
      try {
        return await listImage(src);
      } finally {
        src.close();
      }
    };
    return compareListings(await list(a), await list(b));
  } finally {
    await engine?.close();
  }
}

/** The build's context and Dockerfile as `docker build` reads them: a directory, a git URL, `-` or `-f -` (stdin). */
export async function prepareContext(opts: { context: string; file?: string; stdin: import('node:stream').Readable; signal?: AbortSignal; stateRoot?: string }): Promise<PreparedContext> {
  const { prepareContext: prepare } = await import('./context-source.ts');
  return prepare(opts);
}

/** `tsbuild push`: a stored image to its registry, opening only the stores of the root (no worker, see push-from-root.ts). */
export async function pushFromRoot(root: string, name: string, opts: TransferOptions & { exiting?: boolean } = {}): Promise<PushResult> {
  const { pushFromRoot: push } = await import('./push-from-root.ts');
  return push(root, name, opts);
}

/** `tsbuild login`: checks the credentials against the registry and saves them as Docker does; no engine. */
export async function loginRegistry(input: LoginInput): Promise<LoginReport> {
  const { loginToRegistry } = await import('../src/registry/index.ts');
  return loginToRegistry(input);
}

/** `tsbuild logout`: removes a registry's saved credentials; `removed` is false when there were none. */
export async function logoutRegistry(input: { server?: string; configPath?: string }): Promise<{ server: string; removed: boolean }> {
  const { logoutFromRegistry } = await import('../src/registry/index.ts');
  return logoutFromRegistry(input);
}
