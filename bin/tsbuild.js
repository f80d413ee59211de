#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=1536
// The tsbuild entry point. tsbuild runs its TypeScript sources directly through Node's type
// stripping, which needs Node >= 24; the project ships Node 24 as a devDependency
// (node_modules/node), so an older `node` on PATH hands over to that one.
//
// The CLI as one bundle (scripts/bundle-cli.ts): loading the ~165 source modules one by one took
// ~90 ms of every `tsbuild build` (resolving, reading, type-stripping and linking each), the
// bundle ~30 ms. The bin uses it only while it is exactly the sources it was made from: the
// manifest lists each input with its size and mtime (for a bundled package, its package.json), and
// one changed or removed input sends the bin back to the sources (a stat per input, ~330 of them,
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
// The loader is here, in plain JavaScript, rather than in a module of its own: a dynamic import()
// of even a small module cost the start 1.2-1.6 ms (2 ms for a .ts one, with the compile cache
// turned on for it), a tenth of what is left between Node's start and the build. Tests and the
// bundler import it (`import.meta.main` tells them apart from a start; bin/tsbuild.d.ts types it).
//
// Node's own modules come from process.getBuiltinModule, not `import`: an ESM import of a builtin
// builds a namespace of every export, running each lazy getter (node:fs's `promises` loads
// fs/promises and readline), ~1-2 ms of each start. The hand-over (Node < 24, maybe without
// getBuiltinModule) imports them.

/** The manifest's path in `repo`. */
export const manifestPath = (repo) => `${repo}/dist/cli.json`;

/** The stat of each input (paths relative to `repo`), as the manifest records it: [path, size, mtimeMs], sorted. */
export function describeInputs(repo, paths) {
  const { statSync } = process.getBuiltinModule('node:fs');
  return [...paths].sort().map((p) => {
    const s = statSync(`${repo}/${p}`);
    return [p, s.size, s.mtimeMs];
  });
}

/**
 * The bundle's entry (an absolute path), or undefined when there is none, TSBUILD_NO_BUNDLE is
 * set, or any input differs from when it was made. Never throws: any doubt means the sources.
 */
export function freshBundle(repo) {
  if (process.env.TSBUILD_NO_BUNDLE) return undefined;
  const { readFileSync, statSync } = process.getBuiltinModule('node:fs');
  try {
    const m = JSON.parse(readFileSync(manifestPath(repo), 'utf8'));
    if (typeof m.dir !== 'string' || !/^cli-[0-9a-f]+$/.test(m.dir) || !Array.isArray(m.inputs) || m.inputs.length === 0) return undefined;
    for (const [path, size, mtimeMs] of m.inputs) {
      // a template, not path.join(): normalising ~330 paths cost more than stating them
      const s = statSync(`${repo}/${path}`, { throwIfNoEntry: false });
      if (!s || s.size !== size || s.mtimeMs !== mtimeMs) return undefined;
    }
    const entry = `${repo}/dist/${m.dir}/main.cjs`;
    return statSync(entry, { throwIfNoEntry: false })?.isFile() ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the bundle's top level (main.cjs, as Node's CommonJS loader would) with its code cache for
 * `argv`'s command. Returns its `main`, whether a code cache was there and V8 took it (`cached`),
 * and `saveCache()`: writes the code cache when there was none or V8 rejected it; call it once the
 * command succeeded (a failed one may have compiled only part of what it needs). Never throws.
 */
export function loadBundle(entry, argv) {
  const { readFileSync, renameSync, rmSync, writeFileSync } = process.getBuiltinModule('node:fs');
  const { createRequire } = process.getBuiltinModule('node:module');
  const dir = entry.slice(0, entry.lastIndexOf('/'));
  // Node maps stack traces only of files its loader loaded (a bug report run with
  // --enable-source-maps should name our sources): then no code cache
  if (process.sourceMapsEnabled) {
    const { main } = createRequire(entry)(entry);
    return { main, cached: false, saveCache() {} };
  }
  const { Script } = process.getBuiltinModule('node:vm');
  const cacheFile = `${dir}/${commandOf(argv)}.cache`;
  let cachedData;
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
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(entry), module, entry, dir);
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
function commandOf(argv) {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version')) return 'cli';
  return argv.find((a) => cachedCommands.has(a)) ?? 'cli';
}

/**
 * V8 rejects a code cache made under other flags than its own (it compares a hash of them), and a
 * build whose context has a .dockerignore turns on the regexp fallback (src/context/ignore.ts): set
 * back to what every start has (V8's defaults), its cache is one the next start takes. Passing the
 * flags at start instead costs more: Node's own built-in code cache is then rejected (+25 ms).
 * node:v8 is taken here, not at the start: loading it cost every start ~2.5 ms, and only a run
 * that writes a cache needs it.
 */
function startFlags() {
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  setFlagsFromString('--no-enable-experimental-regexp-engine-on-excessive-backtracks');
  setFlagsFromString('--regexp-backtracks-before-fallback=50000');
}

// The big context's walk (src/context/tree-prewalk.ts), started here when argv asks for a `build`
// of a directory the state root has asked for one of: before the bundle loads rather than once the
// CLI has parsed its options (50-80 ms later), so `find` makes its lstat calls on the other core
// while this one loads and starts tsbuild. The walk's arguments are the ones the last build of that
// directory used (<root>/context-walks/early.json, written by startTreePrewalk); the build takes this
// walk only when it would have started the same one itself (a .dockerignore that prunes otherwise, a
// guess of the context that was not the context), else it kills it and walks as before.
// The walk is handed over in a global: the bundle is another module graph than this file.

/** The global the early walk is handed over in; src/context/tree-prewalk.ts takes it from there. */
export const earlyWalkKey = Symbol.for('tsbuild.early-walk');

// the listing's format, as src/context/tree-prewalk.ts gives it to find (a walk with another is not used)
const walkFormat = '%y %m %U %G %D %i %s %T@ %C@ %P\\0';

/**
 * The find arguments of the early walk `argv` asks for, when it is a `build` whose last argument
 * names a directory `early.json` of its state root holds a walk of; else undefined. Only arguments of
 * the shape startTreePrewalk makes are taken: the file is the state root's, but find must never be
 * told to run or delete anything. Never throws.
 */
export function earlyWalkArgs(argv, env = process.env) {
  try {
    if (argv.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version')) return undefined;
    let root;
    let i = 0;
    for (; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--root') root = argv[++i];
      else if (a.startsWith('--root=')) root = a.slice(7);
      else if (a === '--config') i++;
      else if (!a.startsWith('--config=')) break;
    }
    if (argv[i] !== 'build' || i === argv.length - 1) return undefined;
    const last = argv[argv.length - 1];
    if (last === '' || last.startsWith('-')) return undefined;
    const { resolve } = process.getBuiltinModule('node:path');
    // src/state/root.ts's resolveStateRoot
    root = root ? resolve(root) : env.TSBUILD_ROOT ? resolve(env.TSBUILD_ROOT) : process.getuid?.() === 0 ? '/var/lib/tsbuild' : `${env.XDG_DATA_HOME || `${process.getBuiltinModule('node:os').homedir()}/.local/share`}/tsbuild`;
    const dir = resolve(last);
    const walks = JSON.parse(process.getBuiltinModule('node:fs').readFileSync(`${root}/context-walks/early.json`, 'utf8')).walks;
    const args = walks && Object.hasOwn(walks, dir) ? walks[dir] : undefined;
    return Array.isArray(args) && args.every((a) => typeof a === 'string') && plainWalk(args, dir) ? args : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `args` are `-H dir [( [-o] -name|-path X … ) -prune -o] -printf FORMAT`. */
function plainWalk(args, dir) {
  const n = args.length;
  if (n < 4 || args[0] !== '-H' || args[1] !== dir || args[n - 2] !== '-printf' || args[n - 1] !== walkFormat) return false;
  const middle = args.slice(2, n - 2);
  if (middle.length === 0) return true;
  if (middle[0] !== '(' || middle.slice(-3).join(' ') !== ') -prune -o') return false;
  const tests = middle.slice(1, -3);
  for (let i = 0; i < tests.length; i += 2) {
    if (i > 0 && tests[i++] !== '-o') return false;
    if ((tests[i] !== '-name' && tests[i] !== '-path') || i + 1 >= tests.length) return false;
  }
  return tests.length > 0;
}

/**
 * `args`' walk split over both cores: the tree down to the first depth with 8 or more directories
 * (not pruned) listed here (`head`: an lstat per entry, from the names the search for that depth
 * read), and two finds (`parts`) listing those directories' trees, every other one each (their
 * paths relative to it, after its own line). Undefined (one find) for a tree with fewer directories
 * or more than 2,000 entries above them. Each entry is listed once (a directory made meanwhile is
 * listed, its files are not: the next walk lists them, so such a listing only misses), each split
 * directory twice; the head and the parts' listings in order are the walk's. Throws when an entry
 * cannot be read.
 */
export function splitWalk(args) {
  const { lstatSync, readdirSync } = process.getBuiltinModule('node:fs');
  const dir = args[1];
  const middle = args.slice(2, -2);
  // a path find matches as a glob, escaped: compared with names as they are, so not split
  if (dir.endsWith('/') || middle.some((a) => a.includes('\\'))) return undefined;
  const names = new Set();
  const paths = new Set();
  const tests = middle.slice(1, -3);
  for (let i = 0; i < tests.length; i += 2) {
    if (tests[i] === '-o') i++;
    (tests[i] === '-name' ? names : paths).add(tests[i + 1]);
  }
  // what find would list above the split: every entry not pruned (-prune matches files too)
  const above = [dir];
  let level = [dir];
  for (let depth = 1; depth <= 3 && level.length > 0; depth++) {
    const next = [];
    for (const d of level) {
      for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const path = `${d}/${e.name}`;
        if (names.has(e.name) || paths.has(path)) continue;
        above.push(path);
        if (e.isDirectory()) next.push(path);
      }
    }
    // more to stat here than a find's start costs, or more directories than find's argv holds
    if (above.length > 2000 || next.length > 4096) return undefined;
    if (next.length >= 8) {
      next.sort();
      const halves = [next.filter((_, i) => i % 2 === 0), next.filter((_, i) => i % 2 === 1)];
      return {
        head: above.map((path) => `${entryLine(lstatSync(path, { bigint: true }))} ${path.slice(dir.length + 1)}\0`).join(''),
        // -P: a directory turned into a symlink since is not followed; each directory's entries come
        // after its own line (its inode: the one the head lists for its name), named below it
        parts: halves.map((h) => ['-P', ...h, ...middle, '-printf', walkFormat]),
      };
    }
    level = next;
  }
  return undefined;
}

/** An entry as the head lists it: what find's walkFormat prints, in fields of its own (type, mode, owner, dev, inode, size, mtime and ctime in ns). */
function entryLine(s) {
  const type = s.isFile() ? 'f' : s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : s.isFIFO() ? 'p' : s.isSocket() ? 's' : s.isCharacterDevice() ? 'c' : 'b';
  return `${type} ${(Number(s.mode) & 0o7777).toString(8)} ${s.uid} ${s.gid} ${s.dev} ${s.ino} ${s.size} ${s.mtimeNs} ${s.ctimeNs}`;
}

/**
 * Starts the early walk `argv` asks for (earlyWalkArgs), split over the cores (splitWalk), each
 * find into an unlinked temp file, and returns what the build takes over: { dir, args, head, fds,
 * children, startedMs, exited }. The finds hold the process for nothing (unref), and are killed at
 * exit unless they ended. Never throws: any failure, no walk.
 */
export function startEarlyWalk(argv, env = process.env) {
  const args = earlyWalkArgs(argv, env);
  if (!args) return undefined;
  const { closeSync, existsSync, openSync, unlinkSync } = process.getBuiltinModule('node:fs');
  const tmp = process.getBuiltinModule('node:os').tmpdir();
  const fds = [];
  const children = [];
  const stop = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  try {
    const startedMs = Date.now();
    let split;
    try {
      split = splitWalk(args);
    } catch {
      // an entry gone meanwhile: one find, as the build's own walk
    }
    const parts = split?.parts ?? [args];
    const { spawn } = process.getBuiltinModule('node:child_process');
    const find = existsSync('/usr/bin/find') ? '/usr/bin/find' : 'find';
    for (const part of parts) {
      const file = `${tmp}/tsbuild-tree-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
      const fd = openSync(file, 'wx+', 0o600);
      fds.push(fd);
      unlinkSync(file);
      const child = spawn(find, part, { stdio: ['ignore', fd, 'ignore'] });
      children.push(child);
      child.unref();
    }
    const exited = Promise.all(children.map((child) => new Promise((resolve) => {
      child.once('error', () => resolve(false));
      child.once('exit', (code) => resolve(code === 0));
    }))).then((oks) => oks.every(Boolean));
    process.once('exit', stop);
    return { dir: args[1], args, head: split?.head ?? '', fds, children, startedMs, exited };
  } catch {
    stop();
    for (const fd of fds) closeSync(fd);
    return undefined;
  }
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const { existsSync, realpathSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
  const node24 = join(here, '..', 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node24)) {
    process.stderr.write(`tsbuild: needs Node.js 24 or newer (this is ${process.version}); run \`npm install\` in ${join(here, '..')} to get it\n`);
    process.exit(1);
  }
  // the IPC channel is how the child learns that this process died without passing a signal on
  // (kill -9): it then cancels its build as for SIGTERM instead of running on as an orphan
  // imported here: child_process costs a few ms to load, and Node 24 itself never needs it
  const { spawn } = await import('node:child_process');
  const child = spawn(node24, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  // `timeout`, CI cancellation and systemd signal this process only: pass it on, so the build
  // stops and cleans up instead of running on as an orphan
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else if (import.meta.main) {
  // once nothing is left to run, leave without tearing the heap down (an unmap per V8 page, the
  // isolate disposed: 5-50 ms after a big build's last byte is written): exit now, with the code set
  process.once('beforeExit', () => process.exit());
  if (process.channel) {
    // started by the launcher above: its death (the channel closing) cancels the build
    process.channel.unref();
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  // the CLI bundled (npm run bundle) while it matches the sources, else the sources themselves
  const { dirname } = process.getBuiltinModule('node:path');
  const repo = dirname(dirname(process.getBuiltinModule('node:fs').realpathSync(process.getBuiltinModule('node:url').fileURLToPath(import.meta.url))));
  const argv = process.argv.slice(2);
  const early = startEarlyWalk(argv);
  if (early) globalThis[earlyWalkKey] = early;
  const bundle = freshBundle(repo);
  if (bundle) {
    const loaded = loadBundle(bundle, argv);
    process.exitCode = await loaded.main(argv);
    if (process.exitCode === 0) loaded.saveCache();
  } else {
    // the sources are TypeScript: Node's compile cache keeps them type-stripped between runs
    process.getBuiltinModule('node:module').enableCompileCache?.();
    const { main } = await import('../cli/main.ts');
    process.exitCode = await main(argv);
  }
}
