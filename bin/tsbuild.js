#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=1536
// The tsbuild entry point. tsbuild runs its TypeScript sources directly through Node's type
// stripping, which needs Node >= 24; the project ships Node 24 as a devDependency
// (node_modules/node), so an older `node` on PATH hands over to that one.
//
// Node's own modules come from process.getBuiltinModule, not `import`: an ESM import of a builtin
// builds a namespace of every export, running each lazy getter (node:fs's `promises` loads
// fs/promises and readline), ~1-2 ms of each start. The hand-over (Node < 24, maybe without
// getBuiltinModule) imports them.

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
} else {
  const { realpathSync } = process.getBuiltinModule('node:fs');
  const { dirname, join } = process.getBuiltinModule('node:path');
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  process.getBuiltinModule('node:module').enableCompileCache?.();
  // once nothing is left to run, leave without tearing the heap down (an unmap per V8 page, the
  // isolate disposed: 5-50 ms after a big build's last byte is written): exit now, with the code set
  process.once('beforeExit', () => process.exit());
  if (process.channel) {
    // started by the launcher above: its death (the channel closing) cancels the build
    process.channel.unref();
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  // the CLI bundled (npm run bundle) while it matches the sources, else the sources themselves
  const { freshBundle, loadBundle } = await import('../cli/cli-bundle.ts');
  const argv = process.argv.slice(2);
  const bundle = freshBundle(join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..'));
  if (bundle) {
    const loaded = loadBundle(bundle, argv);
    process.exitCode = await loaded.main(argv);
    if (process.exitCode === 0) loaded.saveCache();
  } else {
    const { main } = await import('../cli/main.ts');
    process.exitCode = await main(argv);
  }
}
