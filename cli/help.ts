// Help for every command, as `docker buildx build --help` gives it: flags in groups, the global
// flags (--root, --config) shown under each command, and examples. Declared here, apart from the
// commands' option lists, and applied once every command is registered: a flag no group names
// stays under "Options:", so a new flag never disappears from help.
import type { Command } from 'commander';

/** Per command: group heading → long flags in it (in the order they were registered). */
const groups: Record<string, Record<string, string[]>> = {
  build: {
    'Input:': ['--file', '--build-arg', '--build-context', '--target', '--platform', '--secret', '--ssh'],
    'Output:': ['--tag', '--output', '--push', '--load', '--quiet', '--label', '--iidfile', '--metadata-file'],
    'Cache:': ['--no-cache', '--no-cache-filter', '--pull', '--explain', '--cache-from', '--cache-to'],
    'RUN sandbox:': ['--network', '--allow', '--add-host', '--memory', '--memory-swap', '--cpus', '--cpu-quota', '--cpu-period', '--cpu-shares', '--pids-limit', '--shm-size', '--ulimit'],
    'Execution:': ['--progress', '--max-parallelism', '--insecure-registry', '--check'],
  },
};

/** Per command: the examples printed after its flags. */
const examples: Record<string, string[]> = {
  build: [
    'tsbuild build -t app .                                   # into the local store',
    'tsbuild build -f docker/Dockerfile --target prod --build-arg VERSION=1.2 -t app:1.2 .',
    'tsbuild build -o type=oci,dest=app.tar .                 # OCI archive; type=oci,dest=DIR,tar=false for a layout',
    'tsbuild build -o type=docker,dest=app.tar -t app .       # for docker load',
    'tsbuild build -o type=local,dest=out .                   # the filesystem as files; type=tar,dest=- to stdout',
    'tsbuild build --push -t registry.example/team/app:1 .',
    'tsbuild build https://host/team/app.git#main:docker      # a git repository as the context',
    'tsbuild build - < context.tar.gz                         # the context as a tar on stdin',
    'tsbuild build --network none --memory 1g --pids-limit 512 .',
    'tsbuild build --no-cache-filter test --explain .          # rerun one stage, say why each step ran',
  ],
  images: ['tsbuild images', 'tsbuild images -q'],
  check: ['tsbuild check .', 'tsbuild check -f docker/Dockerfile --target prod .'],
  du: ['tsbuild du', 'tsbuild du --verbose'],
  prune: ['tsbuild prune -f                             # what no tag or running build uses', 'tsbuild prune -f --keep-storage 10GB', 'tsbuild prune -af --filter until=72h'],
  config: ['tsbuild config', 'tsbuild --config ./ci.toml config --format json'],
  diff: ['tsbuild diff app:1 app:2', 'tsbuild diff app:1 build/app.oci.tar'],
  login: ['tsbuild login reg.example.com', 'echo "$TOKEN" | tsbuild login -u ci --password-stdin reg.example.com'],
  logout: ['tsbuild logout reg.example.com'],
  image: ['tsbuild image ls', 'tsbuild image rm app:old', 'tsbuild image inspect app'],
};

export function applyHelp(program: Command): void {
  for (const cmd of program.commands) {
    const name = cmd.name();
    const table = groups[name] ?? {};
    for (const [heading, flags] of Object.entries(table)) {
      for (const flag of flags) {
        const opt = cmd.options.find((o) => o.long === flag);
        opt?.helpGroup(heading);
      }
    }
    const ex = examples[name];
    // a command that brings its own examples (addHelpText) keeps them
    if (ex && (cmd as unknown as { listenerCount(e: string): number }).listenerCount('afterHelp') === 0) cmd.addHelpText('after', `\nExamples:\n${ex.map((e) => `  ${e}`).join('\n')}`);
  }
}

/** The commands help and the README describe (tests hold the README to this list). */
export function commandNames(program: Command): string[] {
  return program.commands.map((c) => c.name()).filter((n) => n !== 'help');
}
