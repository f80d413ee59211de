// The CLI as one bundle (scripts/bundle-cli.ts): loading the ~165 source modules one by one took
// ~90 ms of every `tsbuild build` (resolving, reading, type-stripping and linking each), the
// bundle ~30 ms. The bin uses it only while it is exactly the sources it was made from: the
// manifest lists each input with its size and mtime (for a bundled package, its package.json), and
// one changed or removed input sends the bin back to the sources (a stat per input, ~230 of them,
// ~2 ms; a new module is reached only through a changed one). So a developer's edit is never hidden
// by an old bundle; it only costs the bundle's speed until `npm run bundle`.
//
//   <repo>/dist/cli.json                 the manifest: { dir, inputs: [[path, size, mtimeMs], …] }
//   <repo>/dist/cli-<hash>/main.cjs      the bundle: one CommonJS file, whose lazy imports are
//                                        modules initialised on first use (so --help still loads
//                                        neither SQLite nor tar)
//   <repo>/dist/cli-<hash>/<cmd>.cache   V8's code cache of main.cjs, made after a run of <cmd>
//
// The code cache is why the bundle is a script and not ES modules: Node's own compile cache is
// made when a module is compiled, so it holds only the top-level code, and every function a
// build calls was compiled again on every run (~35 ms of CPU per no-change rebuild). A cache
// made after the run holds the functions the run compiled; one per command (`build`, `images`,
// …), since `--help` compiles little. V8 rejects a cache made by another Node or with other
// flags (it is then made again), and the directory's name changes with every input, so a cache
// never meets other source. Writing it is best effort: a read-only install runs without.
//
// Each bundle has a directory of its own, named after its inputs, and the manifest is replaced
// atomically: a build running while the bundle is remade keeps the files it started with.
//
// Node's modules come from process.getBuiltinModule, not `import` (as in bin/tsbuild.js): an ESM
// import of node:fs runs every lazy getter of it (fs/promises, readline) on each start.
import type * as V8 from 'node:v8';

const { readFileSync, renameSync, rmSync, statSync, writeFileSync } = process.getBuiltinModule('node:fs');
const { createRequire } = process.getBuiltinModule('node:module');
const { dirname, join } = process.getBuiltinModule('node:path');
const { Script } = process.getBuiltinModule('node:vm');

export interface BundleManifest {
  /** The bundle's directory, relative to `dist/`. */
  dir: string;
  /** Every file of ours in it and each bundled package's package.json (relative to the repo), with its size and mtime when bundled. */
  inputs: [path: string, size: number, mtimeMs: number][];
}

export const manifestPath = (repo: string) => join(repo, 'dist', 'cli.json');

/** The stat of each input, as the manifest records it. */
export function describeInputs(repo: string, paths: readonly string[]): BundleManifest['inputs'] {
  return [...paths].sort().map((p) => {
    const s = statSync(join(repo, p));
    return [p, s.size, s.mtimeMs];
  });
}

/**
 * The bundle's entry (an absolute path), or undefined when there is none, TSBUILD_NO_BUNDLE is
 * set, or any input differs from when it was made. Never throws: any doubt means the sources.
 */
export function freshBundle(repo: string): string | undefined {
  if (process.env.TSBUILD_NO_BUNDLE) return undefined;
  try {
    const m = JSON.parse(readFileSync(manifestPath(repo), 'utf8')) as BundleManifest;
    if (typeof m.dir !== 'string' || !/^cli-[0-9a-f]+$/.test(m.dir) || !Array.isArray(m.inputs) || m.inputs.length === 0) return undefined;
    for (const [path, size, mtimeMs] of m.inputs) {
      // not join(): normalising ~230 paths cost more than stating them
      const s = statSync(`${repo}/${path}`, { throwIfNoEntry: false });
      if (!s || s.size !== size || s.mtimeMs !== mtimeMs) return undefined;
    }
    const entry = join(repo, 'dist', m.dir, 'main.cjs');
    return statSync(entry, { throwIfNoEntry: false })?.isFile() ? entry : undefined;
  } catch {
    return undefined;
  }
}

export interface LoadedBundle {
  main(argv: string[]): Promise<number>;
  /** Whether a code cache was there and V8 took it. */
  readonly cached: boolean;
  /**
   * Writes the code cache when there was none or V8 rejected it; call once the command succeeded
   * (a failed one may have compiled only part of what it needs). Never throws.
   */
  saveCache(): void;
}

/** Runs the bundle's top level (main.cjs, as Node's CommonJS loader would) with its code cache for `argv`'s command. */
export function loadBundle(entry: string, argv: readonly string[]): LoadedBundle {
  // Node maps stack traces only of files its loader loaded (a bug report run with
  // --enable-source-maps should name our sources): then no code cache
  if (process.sourceMapsEnabled) {
    const { main } = createRequire(entry)(entry) as { main: LoadedBundle['main'] };
    return { main, cached: false, saveCache() {} };
  }
  const cacheFile = join(dirname(entry), `${commandOf(argv)}.cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // none yet
  }
  // the wrapper Node's CommonJS loader puts around a module
  // latin1: the bundle is ASCII (scripts/bundle-cli.ts), so this is its text, decoded without a
  // UTF-8 pass and kept by V8 one byte a character
  const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(entry, 'latin1')}\n})`;
  const script = new Script(source, { filename: entry, cachedData });
  const module = { exports: {} as { main?: LoadedBundle['main'] } };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(entry), module, entry, dirname(entry));
  const main = module.exports.main;
  if (typeof main !== 'function') throw new Error(`${entry} exports no main()`);
  return {
    main,
    cached: cachedData !== undefined && !script.cachedDataRejected,
    saveCache() {
      if (cachedData && !script.cachedDataRejected) return;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        startFlags();
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        rmSync(tmp, { force: true });
      }
    },
  };
}

// The commands that run enough of the engine to need a code cache of their own: `push` with the
// cache `--version` made compiled the engine, the registry client and the exporter on every run.
const cachedCommands = new Set(['build', 'images', 'check', 'push', 'pull', 'tag', 'rmi', 'rm', 'inspect', 'history', 'save', 'load', 'du', 'prune']);

/** The command a cache is kept for: the first of argv that names one, else (and for any --help or --version) `cli`. */
function commandOf(argv: readonly string[]): string {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version')) return 'cli';
  return argv.find((a) => cachedCommands.has(a)) ?? 'cli';
}

/**
 * V8 rejects a code cache made under other flags than its own (it compares a hash of them), and a
 * build whose context has a .dockerignore turns on the regexp fallback (src/context/ignore.ts): set
 * back to what every start has (V8's defaults), its cache is one the next start takes. Passing the
 * flags at start instead costs more: Node's own built-in code cache is then rejected (+25 ms).
 */
function startFlags(): void {
  // required here, not imported: loading node:v8 cost every start ~2.5 ms, and only a run that
  // writes a cache needs it
  const { setFlagsFromString } = createRequire(import.meta.url)('node:v8') as typeof V8;
  setFlagsFromString('--no-enable-experimental-regexp-engine-on-excessive-backtracks');
  setFlagsFromString('--regexp-backtracks-before-fallback=50000');
}
