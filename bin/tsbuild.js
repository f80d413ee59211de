#!/usr/bin/env node
// The tsbuild entry point. tsbuild runs its TypeScript sources directly through Node's type
// stripping, which needs Node >= 24; the project ships Node 24 as a devDependency
// (node_modules/.bin/node), so an older `node` on PATH hands over to that one.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
  const node24 = join(here, '..', 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node24)) {
    process.stderr.write(`tsbuild: needs Node.js 24 or newer (this is ${process.version}); run \`npm install\` in ${join(here, '..')} to get it\n`);
    process.exit(1);
  }
  const r = spawnSync(node24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.signal) process.kill(process.pid, r.signal);
  process.exit(r.status ?? 1);
}
module.enableCompileCache?.();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
