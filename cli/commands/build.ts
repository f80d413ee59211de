// `tsbuild build`: flags → BuildOptions → resolved options → the engine's build → one line.
import type { Command } from 'commander';
import { createProgress, ProgressModes, type ProgressMode } from '../../src/progress/index.ts';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { parseAddHost, parseBuildArg, parseBuildContext, parseEntitlement, parseNetworkMode, parseOutputSpec, parseSecret, parseSsh, resolveBuildOptions } from '../../control/index.ts';
import { loadConfig, openEngine, resolveStateRoot } from '../../control/index.ts';
import type { BuildContextSpec, BuildResult, BuildRun, Config, OutputSpec, ResolvedBuildOptions } from '../../control/index.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];
// comma lists, repeatable; `prev` is not an array on the first call of a --no-X option (commander's default `true`)
const collectList = (v: string, prev: unknown) => {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw invalid(ErrorCodes.OPTION_INVALID, `--no-cache-filter needs stage names, not "${v}"`, { hint: 'e.g. --no-cache-filter deps,test' });
  return [...(Array.isArray(prev) ? (prev as string[]) : []), ...items];
};

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build an image from a Dockerfile')
    .argument('<context>', 'build context directory')
    .option('-f, --file <file>', 'the Dockerfile (default: CONTEXT/Dockerfile)')
    .option('-t, --tag <name>', 'name the image in the local store (repeatable)', collect)
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect)
    .option('--build-context <name=value>', 'an extra named context: DIR, docker-image://REF, oci-layout://DIR[:TAG] (repeatable)', collect)
    .option('--target <stage>', 'build this stage')
    .option('--no-cache', 'do not use the cache')
    // commander reads --no-X as the negation of X: this one lands in flags.cacheFilter, `true` when absent
    .option('--no-cache-filter <stages>', 'do not use the cache for these stages: STAGE[,STAGE] (repeatable)', collectList)
    .option('-o, --output <spec>', 'type=image|oci|docker|local|tar[,dest=PATH][,name=...] (repeatable)', collect)
    .option('--push', 'push the image (same as --output type=registry)')
    .option('--pull', 'ask the registry for every base image, even one whose tag is in the local store')
    .option('--platform <os/arch>', 'target platform', 'linux/amd64')
    .option('--progress <mode>', `progress output: ${ProgressModes.join(', ')}`, 'auto')
    .option('--max-parallelism <n>', 'at most N steps, content reads and compressions at once (default: steps unbounded, as BuildKit)')
    .option('--insecure-registry <host>', 'allow plain HTTP to this registry (repeatable)', collect)
    .option('--secret <spec>', 'a secret for RUN --mount=type=secret: id=ID[,src=FILE|,env=VAR] (repeatable)', collect)
    .option('-m, --memory <size>', 'memory limit of each RUN, e.g. 256m, 2g')
    .option('--memory-swap <size>', 'memory plus swap limit of each RUN (-1: unlimited swap)')
    .option('--cpus <n>', 'CPUs each RUN may use, e.g. 1.5')
    .option('--cpu-quota <us>', 'CFS quota of each RUN, in microseconds per period')
    .option('--cpu-period <us>', 'CFS period, in microseconds (default 100000)')
    .option('--cpu-shares <n>', 'relative CPU weight of each RUN (default 1024)')
    .option('--pids-limit <n>', 'most processes and threads in each RUN (-1: unlimited)')
    .option('--shm-size <size>', 'size of /dev/shm in each RUN (default 64m)')
    .option('--ulimit <name=soft[:hard]>', 'an rlimit of each RUN, e.g. nofile=1024:2048 (repeatable)', collect)
    .option('--ssh <spec>', 'an SSH agent for RUN --mount=type=ssh: default|ID[=SOCKET|KEY[,KEY...]] (repeatable)', collect)
    .option('--network <mode>', 'network of RUN steps without their own --network: default, none, host (needs --allow network.host)')
    .option('--allow <entitlement>', 'allow steps a privilege: network.host, security.insecure (repeatable)', collect)
    .option('--add-host <name:ip>', 'add a line to every RUN step\'s /etc/hosts (repeatable)', collect)
    .option('-q, --quiet', 'print only the image id')
    .option('--explain', 'say for every step why it ran (what changed since its last build) or why it was cached')
    .option('--check', 'check the Dockerfile (as tsbuild check) instead of building')
    .action(async (context: string, flags: Record<string, unknown>, cmd: Command) => {
      if (flags.check) return (await import('./check.ts')).runCheckCommand(context, flags);
      const global = cmd.optsWithGlobals() as { root?: string };
      const root = resolveStateRoot(global.root);
      const config = await loadConfig(root);
      const progressMode = (flags.quiet ? 'quiet' : flags.progress) as ProgressMode;
      if (!ProgressModes.includes(progressMode)) throw invalid(ErrorCodes.OPTION_INVALID, `unknown --progress mode "${progressMode}"`, { hint: `one of ${ProgressModes.join(', ')}` });
      const buildArgs: Record<string, string> = {};
      for (const a of (flags.buildArg as string[] | undefined) ?? []) {
        const kv = parseBuildArg(a);
        if (kv) buildArgs[kv[0]] = kv[1];
      }
      const buildContexts: Record<string, BuildContextSpec> = {};
      for (const c of (flags.buildContext as string[] | undefined) ?? []) {
        const [name, spec] = parseBuildContext(c);
        buildContexts[name] = spec;
      }
      const outputs: OutputSpec[] = ((flags.output as string[] | undefined) ?? []).map(parseOutputSpec);
      const maxParallelism = flags.maxParallelism === undefined ? undefined : Number(flags.maxParallelism);
      if (maxParallelism !== undefined && !(Number.isInteger(maxParallelism) && maxParallelism > 0)) {
        throw invalid(ErrorCodes.OPTION_INVALID, `--max-parallelism must be a positive whole number, not "${String(flags.maxParallelism)}"`);
      }
      const opts = resolveBuildOptions({
        context,
        file: flags.file as string | undefined,
        tags: flags.tag as string[] | undefined,
        buildArgs,
        buildContexts,
        target: flags.target as string | undefined,
        noCache: flags.cache === false,
        noCacheFilter: Array.isArray(flags.cacheFilter) ? (flags.cacheFilter as string[]) : undefined,
        pull: flags.pull === true,
        outputs,
        push: flags.push === true,
        platform: flags.platform as string,
        progress: progressMode,
        maxParallelism,
        insecureRegistries: flags.insecureRegistry as string[] | undefined,
        secrets: ((flags.secret as string[] | undefined) ?? []).map((x) => parseSecret(x)),
        limits: (await import('./build-limits.ts')).resolveLimits(flags, config),
        ssh: ((flags.ssh as string[] | undefined) ?? []).map((x) => parseSsh(x)),
        network: flags.network === undefined ? undefined : parseNetworkMode(flags.network as string),
        allow: ((flags.allow as string[] | undefined) ?? []).map(parseEntitlement),
        addHosts: ((flags.addHost as string[] | undefined) ?? []).map(parseAddHost),
        explain: flags.explain === true,
        sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
      });
      const progress = await createProgress(opts.progress, process.stderr);
      const { cancelOnSignals } = await import('../cancel.ts');
      const cancel = cancelOnSignals();
      try {
        const result = await buildOnce(root, config, opts, { progress, signal: cancel.signal, stdout: process.stdout }).catch((e: unknown) => {
          throw cancel.explain(e);
        });
        progress.close();
        if (opts.progress === 'quiet') process.stdout.write(`${result.imageId}\n`);
        else {
          const names = result.exports.flatMap((x) => x.names);
          process.stderr.write(`\nBuilt ${result.imageId.slice(0, 19)}${names.length ? ` as ${names.join(', ')}` : ''} (${result.ran} steps ran, ${result.cached} cached)\n`);
        }
      } finally {
        progress.close();
        cancel.dispose();
      }
    });
}

/** One engine for the one build a command line asks for. */
async function buildOnce(root: string, config: Config, opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> {
  const engine = await openEngine({ root, config });
  try {
    return await engine.build(opts, run);
  } finally {
    await engine.close();
  }
}
