// Bundles the CLI for the bin (cli/cli-bundle.ts says why and how the bin checks it is current).
//   npm run bundle        (install-deps.sh runs it after the npm packages; ~0.2 s)
// esbuild (a devDependency) does the bundling; $ESBUILD names another esbuild binary. Without
// esbuild this says so and exits 0: tsbuild then runs from its sources, only slower to start.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeInputs, manifestPath, type BundleManifest } from '../cli/cli-bundle.ts';

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
  'cli/main.ts', '--bundle', '--platform=node', '--format=esm', '--target=node24',
  // packages are bundled too: resolving and linking node_modules file by file (commander,
  // tar-stream and its five helpers, p-queue…; ~30 modules) cost a no-change rebuild ~25 ms. Their
  // CommonJS `require` of Node's own modules needs a real `require` in each chunk.
  `--banner:js=import { createRequire as __tsbuildRequire } from 'node:module'; const require = __tsbuildRequire(import.meta.url);`,
  // one chunk per lazy import, so `--help` still loads neither SQLite, tar nor the HTTP client
  '--splitting', `--outdir=${staging}`, '--entry-names=[name]', '--chunk-names=[name]-[hash]',
  // stack traces of our bugs name the sources with `node --enable-source-maps`
  '--sourcemap', '--log-level=warning', `--metafile=${metafile}`,
];
const run = spawnSync(esbuild, args, { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
if (run.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`bundle-cli: esbuild failed (${run.error?.message ?? `exit ${run.status}`}): tsbuild runs from its sources`);
  process.exit(1);
}
const meta = JSON.parse(readFileSync(metafile, 'utf8')) as { inputs: Record<string, unknown> };
rmSync(metafile);
for (const name of readdirSync(staging).filter((n) => n.endsWith('.js'))) {
  const file = join(staging, name);
  writeFileSync(file, requireBuiltins(readFileSync(file, 'utf8')));
}
const inputs = describeInputs(repo, watchedFiles(Object.keys(meta.inputs)));
// named after what went in, so an unchanged tree gives the same directory and a new one never
// overwrites chunks that a running build may still import
// (and after this script, whose rewriting is part of what comes out)
const dir = `cli-${createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).update(JSON.stringify(inputs)).digest('hex').slice(0, 16)}`;
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
console.error(`bundle-cli: ${inputs.length} modules → dist/${dir}/main.js`);

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
 * `import { createHash } from "node:crypto"` made CommonJS: `const { createHash } = require("node:crypto")`.
 * Importing a Node module as ESM copies every export into a module namespace, which runs each
 * lazy getter (node:crypto's webcrypto, node:fs's promises…) and loads what they hide; `require`
 * does not. Measured on a no-change rebuild: ~15 ms of CPU less. Only the two one-line forms
 * esbuild prints are rewritten, the line count is kept (source maps stay right), and anything
 * else is left an import.
 */
function requireBuiltins(code: string): string {
  return code.replace(/^import (?:\{ ([\w$, ]+) \}|([\w$]+)) from "(node:[\w/]+)";$/gm, (_, named: string | undefined, name: string | undefined, mod: string) =>
    named ? `const { ${named.replace(/ as /g, ': ')} } = require("${mod}");` : `const ${name} = require("${mod}");`,
  );
}

