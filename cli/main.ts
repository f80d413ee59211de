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
import { BuildCancelled, StdioFailed } from './cancel.ts';
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
  const commands: Record<string, (p: Command) => void> = {
    build: registerBuild,
    images: registerImages,
    check: registerCheck,
    du: registerDu,
    prune: registerPrune,
    config: registerConfig,
    diff: registerDiff,
    login: registerLogin,
    logout: registerLogout,
    inspect: registerInspect,
    history: registerHistory,
    tag: registerTag,
    rmi: registerRmi,
    push: registerPush,
    pull: registerPull,
    save: registerSave,
    load: registerLoad,
    version: (p) => registerVersion(p, version()),
  };
  const sole = soleCommand(argv, Object.keys(commands));
  if (sole) {
    commands[sole](program);
    applyHelp(program);
    return run(program, argv);
  }
  for (const register of Object.values(commands)) register(program);
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
  return run(program, argv);
}

/**
 * The command `argv` runs when its first word after the global options names one and it asks for
 * no help or version: then only that command is registered (all 18 with their ~150 options took
 * ~2 ms of every start). Anything else (help, a typo commander suggests a fix for, `image ls`)
 * registers them all.
 */
export function soleCommand(argv: readonly string[], names: readonly string[]): string | undefined {
  if (argv.some((a) => a === '-h' || a === '--help' || a === '-v' || a === '--version')) return undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root' || a === '--config') i++;
    else if (a.startsWith('--root=') || a.startsWith('--config=')) continue;
    else return names.includes(a) ? a : undefined;
  }
  return undefined;
}

async function run(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    // a command whose outcome is a status rather than an error (tsbuild diff: 1 = they differ)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ReportedError) return e.exitCode;
    if (e instanceof StdioFailed && e.silent) return e.exitCode;
    process.stderr.write(formatError(e));
    return e instanceof BuildCancelled || e instanceof StdioFailed ? e.exitCode : 1;
  }
}
