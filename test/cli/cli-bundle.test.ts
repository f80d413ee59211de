// The CLI bundle (bin/tsbuild.js, scripts/bundle-cli.ts): used only while it matches the
// sources, and then it is what runs: the build loads no source module, --help still no tar or HTTP client.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeInputs, freshBundle, loadBundle, manifestPath } from '../../bin/tsbuild.js';
import { buildBusybox, contextDir, removeDir, repoRoot, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { shebangNodeFlags } from '../../cli/bin-flags.ts';

/** A repo with two sources and a bundle made from them. */
function fakeRepo(): string {
  const repo = tempDir('tsbuild-bundle-');
  mkdirSync(join(repo, 'src'));
  writeFileSync(join(repo, 'src', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(repo, 'src', 'b.ts'), 'export const b = 2;\n');
  mkdirSync(join(repo, 'dist', 'cli-0123abcd'), { recursive: true });
  writeFileSync(join(repo, 'dist', 'cli-0123abcd', 'main.cjs'), 'exports.main = async (argv) => argv.length;\n');
  writeFileSync(manifestPath(repo), JSON.stringify({ dir: 'cli-0123abcd', inputs: describeInputs(repo, ['src/b.ts', 'src/a.ts']) }));
  return repo;
}

test('the bundle is used while every source it was made from is unchanged, else the sources', (t) => {
  const repo = fakeRepo();
  try {
    t.is(freshBundle(repo), join(repo, 'dist', 'cli-0123abcd', 'main.cjs'));
    // an edit keeping the size still changes the mtime
    writeFileSync(join(repo, 'src', 'a.ts'), 'export const a = 3;\n');
    t.is(freshBundle(repo), undefined);
    writeFileSync(manifestPath(repo), JSON.stringify({ dir: 'cli-0123abcd', inputs: describeInputs(repo, ['src/a.ts', 'src/b.ts']) }));
    t.truthy(freshBundle(repo));
    // a checkout that only touches a file (same bytes, new mtime) is also a change: stat says so, cheaply
    utimesSync(join(repo, 'src', 'b.ts'), new Date(), new Date(Date.now() + 5_000));
    t.is(freshBundle(repo), undefined);
  } finally {
    removeDir(repo);
  }
});

test('a missing input, bundle or manifest, a damaged manifest or TSBUILD_NO_BUNDLE all mean the sources', (t) => {
  const cases: [string, (repo: string) => void][] = [
    ['input removed', (r) => removeDir(join(r, 'src', 'b.ts'))],
    ['bundle removed', (r) => removeDir(join(r, 'dist', 'cli-0123abcd'))],
    ['no manifest', (r) => removeDir(manifestPath(r))],
    ['not JSON', (r) => writeFileSync(manifestPath(r), '{"dir": "cli-01')],
    ['dir outside dist', (r) => writeFileSync(manifestPath(r), JSON.stringify({ dir: '../../etc', inputs: describeInputs(r, ['src/a.ts']) }))],
    ['no inputs', (r) => writeFileSync(manifestPath(r), JSON.stringify({ dir: 'cli-0123abcd', inputs: [] }))],
  ];
  for (const [what, damage] of cases) {
    const repo = fakeRepo();
    try {
      t.truthy(freshBundle(repo), what);
      damage(repo);
      t.is(freshBundle(repo), undefined, what);
    } finally {
      removeDir(repo);
    }
  }
  const repo = fakeRepo();
  const before = process.env.TSBUILD_NO_BUNDLE;
  try {
    process.env.TSBUILD_NO_BUNDLE = '1';
    t.is(freshBundle(repo), undefined);
  } finally {
    if (before === undefined) delete process.env.TSBUILD_NO_BUNDLE;
    else process.env.TSBUILD_NO_BUNDLE = before;
    removeDir(repo);
  }
});

// prints, at exit, every module file the process loaded from the repo (relative), one per line on stderr
const traceModules = `data:text/javascript,${encodeURIComponent(`
import module from 'node:module';
const seen = new Set();
module.registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.add(r.url); return r; } });
process.on('exit', () => process.stderr.write('LOADED ' + [...seen].join(' ') + '\\n'));
`)}`;
// prints, at exit, which of Node's own modules the process loaded, without making process.stderr (and
// without an ESM import of node:fs, whose namespace would load fs/promises itself)
const traceBuiltins = `data:text/javascript,${encodeURIComponent(`
process.on('exit', () => { const list = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)); process.getBuiltinModule('node:fs').writeSync(2, 'BUILTINS ' + list.join(' ') + '\\n'); });
`)}`;
const loaded = (stderr: string) => (/^LOADED (.*)$/m.exec(stderr)?.[1] ?? '').split(' ').filter(Boolean);

test('--help from the sources loads neither SQLite, tar, the HTTP client nor the engine behind control/index.ts', (t) => {
  const help = spawnSync(process.execPath, [tsbuildBin, '--help'], { encoding: 'utf8', env: { ...process.env, TSBUILD_NO_BUNDLE: '1', NODE_OPTIONS: `--import=${traceModules}` } });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /Usage: tsbuild/);
  const modules = loaded(help.stderr);
  t.true(modules.some((u) => u.endsWith('/control/index.ts')), modules.join('\n'));
  const heavy = modules.filter((u) => u === 'node:sqlite' || u.includes('tar-stream') || u.includes('undici') || /\/(control\/engine|worker|solver|frontend|exporter)\b/.test(u));
  t.deepEqual(heavy, []);
});

test('with a current bundle a build runs from it (no source module loaded) and --help initialises neither SQLite nor zlib, as from the sources', async (t) => {
  if (!freshBundle(repoRoot)) {
    const esbuild = process.env.ESBUILD ?? join(repoRoot, 'node_modules', '.bin', 'esbuild');
    if (!existsSync(esbuild)) return t.pass('esbuild not installed (npm install): the bundle is not exercised here');
    const made = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'bundle-cli.ts')], { encoding: 'utf8' });
    t.is(made.status, 0, made.stderr);
  }
  if (!freshBundle(repoRoot)) return t.fail('no current bundle after bundling');
  const env = { NODE_OPTIONS: `--import=${traceModules}` };
  const help = spawnSync(process.execPath, [tsbuildBin, '--help'], { encoding: 'utf8', env: { ...process.env, ...env } });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /Usage: tsbuild/);
  const helpModules = loaded(help.stderr);
  // the bundle is one script (compiled by the bin, not loaded as a module): no module of ours but the bin
  t.deepEqual(helpModules.filter((u) => u.startsWith(`file://${repoRoot}/`) && u !== `file://${repoRoot}/bin/tsbuild.js`).map((u) => u.slice(`file://${repoRoot}/`.length)), []);
  // SQLite is the store, zlib the layers: both belong to the engine, initialised only when a command opens it
  t.false(helpModules.some((u) => u === 'node:sqlite' || u === 'node:zlib' || u.includes('undici')), helpModules.join('\n'));

  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo hi > /hi\n' });
  try {
    await buildBusybox(root);
    const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'bundled', ctx], { root, env });
    t.is(r.code, 0, r.stderr);
    const modules = loaded(r.stderr);
    t.true(modules.some((u) => u === 'node:sqlite'), 'the build did open the store');
    const sources = modules.filter((u) => u.startsWith(`file://${repoRoot}/`) && u !== `file://${repoRoot}/bin/tsbuild.js`);
    t.deepEqual(sources.map((u) => u.slice(`file://${repoRoot}/`.length)), []);
    // a no-change rebuild starts no process, talks to no registry and compresses nothing: Node's
    // modules for those are not even loaded (scripts/bundle-lazy-builtins.ts; issue 9)
    const again = await runTsbuild(['build', '--progress', 'plain', '-t', 'bundled', ctx], { root, env });
    t.is(again.code, 0, again.stderr);
    t.regex(again.stderr, /CACHED/);
    const unused = loaded(again.stderr).filter((u) => ['node:child_process', 'node:http', 'node:https', 'node:zlib'].includes(u));
    t.deepEqual(unused, []);
    // quiet, as the bench and CI run it, stdout and stderr pipes: neither stream is made (a socket
    // over the pipe, node:net) and node:fs/promises is not loaded, yet the image ID comes out (issue 9)
    const quiet = await runTsbuild(['build', '--progress', 'quiet', '-t', 'bundled', ctx], { root, env: { NODE_OPTIONS: `--import=${traceBuiltins}` } });
    t.is(quiet.code, 0, quiet.stderr);
    t.regex(quiet.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const builtins = (/^BUILTINS (.*)$/m.exec(quiet.stderr)?.[1] ?? '').split(' ');
    t.true(builtins.includes('sqlite'), 'the build did open the store');
    t.deepEqual(builtins.filter((m) => m === 'net' || m === 'internal/fs/promises'), []);
    // and a reader that went away before the ID was written: the quiet exit of a closed pipe, no stack
    const closed = spawnSync('bash', ['-c', 'set -o pipefail; "$@" | true', 'bash', process.execPath, ...shebangNodeFlags(tsbuildBin), tsbuildBin, '--root', root, 'build', '-q', ctx], { encoding: 'utf8' });
    t.true(closed.status === 0 || closed.status === 141, `exit ${closed.status}: ${closed.stderr}`);
    t.notRegex(closed.stderr, /EPIPE|^\s+at /m);
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});

/** Loads the bundle as the bin does, in a process of its own (V8 keeps what one process compiled), runs its main and saves its cache. */
function runBundled(entry: string, argv: string[], nodeFlags: string[] = []): { cached: boolean; code: number } {
  const script = `
    import { loadBundle } from ${JSON.stringify(join(repoRoot, 'bin', 'tsbuild.js'))};
    const b = loadBundle(${JSON.stringify(entry)}, ${JSON.stringify(argv)});
    const code = await b.main(${JSON.stringify(argv)});
    b.saveCache();
    console.log(JSON.stringify({ cached: b.cached, code }));
  `;
  const r = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { cached: boolean; code: number };
}

test('the bundle runs with a code cache per command, made after its first run; a damaged one is rejected and made again (issue 9)', (t) => {
  const repo = fakeRepo();
  try {
    const entry = freshBundle(repo)!;
    const caches = () => readdirSync(join(repo, 'dist', 'cli-0123abcd')).filter((n) => n.endsWith('.cache')).sort();
    // Node maps stack traces only of what its loader loaded: with source maps on, no cache is used or made
    t.deepEqual(runBundled(entry, ['build', '.'], ['--enable-source-maps']), { cached: false, code: 2 });
    t.deepEqual(caches(), []);
    t.deepEqual(runBundled(entry, ['--root', '/x', 'build', '.']), { cached: false, code: 4 });
    t.deepEqual(caches(), ['build.cache']);
    t.deepEqual(runBundled(entry, ['build', '.']), { cached: true, code: 2 });
    runBundled(entry, ['build', '--help']);
    runBundled(entry, ['images']);
    t.deepEqual(caches(), ['build.cache', 'cli.cache', 'images.cache'], '--help has its own: it compiles little');
    runBundled(entry, ['--root', '/x', 'push', 'x']);
    t.true(caches().includes('push.cache'), 'push runs the engine and the registry client: a cache of its own');

    const cache = join(repo, 'dist', 'cli-0123abcd', 'build.cache');
    writeFileSync(cache, Buffer.alloc(readFileSync(cache).length, 7));
    t.deepEqual(runBundled(entry, ['build', '.']), { cached: false, code: 2 }, 'a damaged cache is not used');
    t.deepEqual(runBundled(entry, ['build', '.']), { cached: true, code: 2 }, 'and was made again');
  } finally {
    removeDir(repo);
  }
});

test('a run that turned on V8\'s regexp fallback (a context with a .dockerignore) still leaves a cache the next start takes', (t) => {
  const repo = fakeRepo();
  try {
    // what src/context/ignore.ts does when a build reads a .dockerignore
    writeFileSync(join(repo, 'dist', 'cli-0123abcd', 'main.cjs'), `exports.main = async () => {
      const v8 = require('node:v8');
      v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
      v8.setFlagsFromString('--regexp-backtracks-before-fallback=100000');
      return 0;
    };\n`);
    const entry = freshBundle(repo)!;
    t.deepEqual(runBundled(entry, ['build', '.']), { cached: false, code: 0 });
    t.deepEqual(runBundled(entry, ['build', '.']), { cached: true, code: 0 }, 'V8 rejects a cache made under other flags');
    t.deepEqual(runBundled(entry, ['build', '.']), { cached: true, code: 0 });
  } finally {
    removeDir(repo);
  }
});
