// The CLI: parses argv, runs one command, turns every error into the formatted report and an exit
// code. Each command imports its implementation when it runs, so --help loads neither SQLite,
// tar nor the HTTP client.
import { Command, CommanderError } from 'commander';
import { registerBuild } from './commands/build.ts';
import { registerCheck } from './commands/check.ts';
import { registerImages } from './commands/images.ts';
import { registerDu } from './commands/du.ts';
import { registerPrune } from './commands/prune.ts';
import { registerConfig } from './commands/config.ts';
import { registerDiff } from './commands/diff.ts';
import { registerLogin } from './commands/login.ts';
import { registerLogout } from './commands/logout.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerHistory } from './commands/history.ts';
import { registerTag } from './commands/tag.ts';
import { registerRmi } from './commands/rmi.ts';
import { registerPush } from './commands/push.ts';
import { registerPull } from './commands/pull.ts';
import { registerSave } from './commands/save.ts';
import { registerLoad } from './commands/load.ts';
import { registerVersion } from './commands/version.ts';
import { exitQuietlyOnClosedPipe } from './closed-pipe.ts';
import { formatError } from './format-error.ts';
import { applyHelp } from './help.ts';
import { BuildCancelled } from './cancel.ts';
import { useConfigFile } from '../control/index.ts';
import { ReportedError } from './json-error.ts';

// imported, not read at a path: the bundle (dist/cli-*/main.cjs) sits one level deeper than this file
import pkg from '../package.json' with { type: 'json' };

const version = () => pkg.version;

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const program = new Command('tsbuild')
    .description('Build container images from Dockerfiles')
    .version(version(), '-v, --version')
    .option('--root <dir>', 'state directory (default: $TSBUILD_ROOT, /var/lib/tsbuild as root)')
    .option('--config <file>', 'config file (default: $TSBUILD_CONFIG, <root>/tsbuild.toml, ~/.config/tsbuild/tsbuild.toml)')
    .showHelpAfterError('(run tsbuild --help for usage)')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    // every command's config read honours --config
    .hook('preAction', (cmd) => {
      const file = (cmd.opts() as { config?: string }).config;
      if (file !== undefined) useConfigFile(file);
    });
  registerBuild(program);
  registerImages(program);
  registerCheck(program);
  registerDu(program);
  registerPrune(program);
  registerConfig(program);
  registerDiff(program);
  registerLogin(program);
  registerLogout(program);
  registerInspect(program);
  registerHistory(program);
  registerTag(program);
  registerRmi(program);
  registerPush(program);
  registerPull(program);
  registerSave(program);
  registerLoad(program);
  registerVersion(program, version());
  // `tsbuild image ls|inspect|history|tag|rm|push|pull|save|load`, as docker's `image` group
  const image = program.command('image').description('manage images (the same commands as images, inspect, history, tag, rmi, push, pull, save, load)');
  registerImages(image, 'ls');
  registerInspect(image);
  registerHistory(image);
  registerTag(image);
  registerRmi(image, 'rm');
  registerPush(image);
  registerPull(image);
  registerSave(image);
  registerLoad(image);
  applyHelp(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    // a command whose outcome is a status rather than an error (tsbuild diff: 1 = they differ)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ReportedError) return e.exitCode;
    process.stderr.write(formatError(e));
    return e instanceof BuildCancelled ? e.exitCode : 1;
  }
}
