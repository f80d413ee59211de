// Types of what bin/tsbuild.js exports (its bundle loader), for the bundler and the tests.

export interface BundleManifest {
  /** The bundle's directory, relative to `dist/`. */
  dir: string;
  /** Every file of ours in it and each bundled package's package.json (relative to the repo), with its size and mtime when bundled. */
  inputs: [path: string, size: number, mtimeMs: number][];
}

/** `<repo>/dist/cli.json`. */
export function manifestPath(repo: string): string;

/** The stat of each input (paths relative to `repo`), as the manifest records it, sorted by path. */
export function describeInputs(repo: string, paths: readonly string[]): BundleManifest['inputs'];

/** The bundle's entry, or undefined when there is none, TSBUILD_NO_BUNDLE is set, or any input changed. Never throws. */
export function freshBundle(repo: string): string | undefined;

export interface LoadedBundle {
  main(argv: string[]): Promise<number>;
  /** Whether a code cache was there and V8 took it. */
  readonly cached: boolean;
  /** Writes the code cache when there was none or V8 rejected it; call once the command succeeded. Never throws. */
  saveCache(): void;
}

/** Runs the bundle's top level with its code cache for `argv`'s command. */
export function loadBundle(entry: string, argv: readonly string[]): LoadedBundle;

/** The global bin/tsbuild.js hands its early walk over in (src/context/tree-prewalk.ts takeEarlyWalk). */
export const earlyWalkKey: unique symbol;

/** find's arguments for the early walk `argv` asks for (a `build` of a directory `<root>/context-walks/early.json` keeps a walk of), else undefined. Never throws. */
export function earlyWalkArgs(argv: readonly string[], env?: NodeJS.ProcessEnv): string[] | undefined;

/** Starts that walk; what the build takes over (src/context/tree-prewalk.ts EarlyWalk), or undefined. Never throws. */
export function startEarlyWalk(argv: readonly string[], env?: NodeJS.ProcessEnv): import('../src/context/index.ts').EarlyWalk | undefined;

/** `args`' walk over both cores: the tree's top down to a depth with 8+ directories listed by the bin (`head`), their trees by two finds (`parts`); undefined for one find. */
export function splitWalk(args: readonly string[]): { head: string; parts: string[][] } | undefined;
