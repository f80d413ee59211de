// Bundles the CLI for the bin (bin/tsbuild.js says why and how it checks the bundle is current).
//   npm run bundle        (install-deps.sh runs it after the npm packages; ~0.2 s)
// esbuild (a devDependency) does the bundling; $ESBUILD names another esbuild binary. Without
// esbuild this says so and exits 0: tsbuild then runs from its sources, only slower to start.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeInputs, manifestPath, type BundleManifest } from '../bin/tsbuild.js';
import { lazyRequires } from './bundle-lazy-builtins.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(repo, 'dist');
const esbuild = process.env.ESBUILD ?? join(repo, 'node_modules', '.bin', 'esbuild');
if (!existsSync(esbuild)) {
  console.error(`bundle-cli: ${relative(repo, esbuild)} not found (npm install): tsbuild runs from its sources`);
  process.exit(0);
}

mkdirSync(dist, { recursive: true });
const staging = join(dist, `.staging-${process.pid}`);
const metafile = join(staging, 'meta.json');
rmSync(staging, { recursive: true, force: true });
const args = [
  // one CommonJS file, which the bin compiles with a V8 code cache made after a run
  // (bin/tsbuild.js); a lazy import() becomes a module initialised on first use, so `--help`
  // still loads neither SQLite nor tar. CommonJS also `require`s Node's own modules: an ESM import
  // of node:crypto or node:fs copies every export into a namespace, running each lazy getter
  // (webcrypto, fs.promises…) and loading what it hides.
  'cli/main.ts', '--bundle', '--platform=node', '--format=cjs', '--target=node24', `--outfile=${join(staging, 'main.cjs')}`,
  // packages are bundled too: resolving and linking node_modules file by file (commander,
  // tar-stream and its five helpers, p-queue…; ~30 modules) cost a no-change rebuild ~25 ms
  // stack traces of our bugs name the sources with `node --enable-source-maps`
  '--sourcemap', '--log-level=warning', `--metafile=${metafile}`,
  // ASCII only (asciiOnly below): the bin reads it as latin1, and V8 keeps its source, held for
  // lazy compilation for the whole run, one byte a character instead of two (1.5 MB less heap)
  '--charset=ascii',
];
const run = spawnSync(esbuild, args, { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
if (run.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`bundle-cli: esbuild failed (${run.error?.message ?? `exit ${run.status}`}): tsbuild runs from its sources`);
  process.exit(1);
}
asciiOnly(join(staging, 'main.cjs'));
requireOnFirstUse(join(staging, 'main.cjs'));
const meta = JSON.parse(readFileSync(metafile, 'utf8')) as { inputs: Record<string, unknown> };
rmSync(metafile);
const inputs = describeInputs(repo, watchedFiles(Object.keys(meta.inputs)));
// named after what went in, so an unchanged tree gives the same directory and a new one never
// overwrites chunks that a running build may still import
// (and after this script, whose rewriting is part of what comes out)
const dir = `cli-${createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).update(readFileSync(join(repo, 'scripts', 'bundle-lazy-builtins.ts'))).update(JSON.stringify(inputs)).digest('hex').slice(0, 16)}`;
const previous = readManifest();
// the same inputs give the same bundle: one already there stays (a build may be reading it)
if (existsSync(join(dist, dir))) rmSync(staging, { recursive: true, force: true });
else renameSync(staging, join(dist, dir));
const manifest: BundleManifest = { dir, inputs };
writeFileSync(`${manifestPath(repo)}.tmp`, JSON.stringify(manifest) + '\n');
renameSync(`${manifestPath(repo)}.tmp`, manifestPath(repo));
// keep this bundle and the one before (a build started on it may still import from it)
for (const name of readdirSync(dist)) {
  if (name !== dir && name !== previous?.dir && /^cli-[0-9a-f]+$/.test(name)) rmSync(join(dist, name), { recursive: true, force: true });
}
console.error(`bundle-cli: ${inputs.length} modules → dist/${dir}/main.cjs`);

function readManifest(): BundleManifest | undefined {
  try {
    return JSON.parse(readFileSync(manifestPath(repo), 'utf8')) as BundleManifest;
  } catch {
    return undefined;
  }
}

/**
 * What the bin stats to know the bundle is current: each of our files, and for a package only its
 * package.json (npm rewrites a package's directory, package.json included, whenever it installs
 * another version), so the check stays ~230 stats instead of one per package file. A hand edit
 * inside node_modules needs `npm run bundle`.
 */
function watchedFiles(inputs: readonly string[]): string[] {
  const files = new Set<string>();
  for (const p of inputs) {
    const pkg = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(p);
    files.add(pkg ? `${pkg[1]}/package.json` : p);
  }
  return [...files];
}


/**
 * Makes the bundle pure ASCII. esbuild's --charset=ascii escapes every string, template, regular
 * expression and identifier, but keeps the comments it carries over (p-queue's have emoji): any
 * character left above 0x7f is in a comment, where `\u{…}` text means nothing to the parser.
 */
/** Node's modules that a no-change rebuild never calls, loaded when first used (scripts/bundle-lazy-builtins.ts). */
function requireOnFirstUse(file: string): void {
  const { text, changed } = lazyRequires(readFileSync(file, 'latin1'));
  if (changed > 0) writeFileSync(file, text, 'latin1');
}

function asciiOnly(file: string): void {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  if (ascii !== text) writeFileSync(file, ascii);
}
