// `tsbuild build`: flags → BuildOptions → resolved options → the engine's build → one line.
import type { Command } from 'commander';
import { humanSize } from '../human.ts';
import { createProgress, ProgressModes } from '../../src/progress/index.ts';
import { reportAsJson } from '../json-error.ts';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { parseCacheFrom, parseCacheTo, parseAddHost, parseBuildArg, parseBuildContext, parseEntitlement, parseNetworkMode, parseOutputSpec, parseSecret, parseSsh, resolveBuildOptions, stdoutOutput } from '../../control/index.ts';
import { parseLabel } from '../../control/index.ts';
import { loadConfig, openEngine, prepareContext, resolveStateRoot } from '../../control/index.ts';
import type { BuildContextSpec, BuildResult, BuildRun, Config, OutputSpec, ResolvedBuildOptions } from '../../control/index.ts';
import { collect } from '../repeatable.ts';
import { lazyStderr, stdioFailure, whileWriting, writeStdio } from '../closed-pipe.ts';

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
    .argument('<context>', 'build context: a directory, a git URL (https://host/repo.git#ref:subdir), or - for a tar (or a Dockerfile) on stdin')
    .option('-f, --file <file>', 'the Dockerfile (default: CONTEXT/Dockerfile; - reads it from stdin)')
    .option('-t, --tag <name>', 'name the image in the local store (repeatable)', collect)
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect)
    .option('--build-context <name=value>', 'an extra named context: DIR, docker-image://REF, oci-layout://DIR[:TAG] (repeatable)', collect)
    .option('--target <stage>', 'build this stage')
    .option('--no-cache', 'do not use the cache')
    // commander reads --no-X as the negation of X: this one lands in flags.cacheFilter, `true` when absent
    .option('--no-cache-filter <stages>', 'do not use the cache for these stages: STAGE[,STAGE] (repeatable)', collectList)
    .option('-o, --output <spec>', 'type=image|registry|oci|docker|local|tar[,dest=PATH|-][,name=...][,KEY=VALUE] (repeatable; -o - is a tar on stdout)', collect)
    .option('--push', 'push the image (same as --output type=registry)')
    .option('--load', 'load the image into the local Docker daemon (same as --output type=docker)')
    .option('--pull', 'ask the registry for every base image, even one whose tag is in the local store')
    .option('--platform <os/arch>', 'target platform (default: the host\'s, e.g. linux/amd64)')
    .option('--progress <mode>', `progress output: ${ProgressModes.join(', ')} (default: $BUILDKIT_PROGRESS, else auto)`)
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
    .option('--cache-from <spec>', 'import build cache: type=registry,ref=REF | type=local,src=DIR | REF (repeatable)', collect)
    .option('--cache-to <spec>', 'export build cache: type=registry,ref=REF[,mode=min|max] | type=local,dest=DIR[,mode=...] (repeatable)', collect)
    .option('--explain', 'say for every step why it ran (what changed since its last build) or why it was cached')
    .option('--check', 'check the Dockerfile (as tsbuild check) instead of building')
    .option('--label <key=value>', 'set a label of the image (repeatable)', collect)
    .option('--iidfile <file>', 'write the image id to this file')
    .option('--metadata-file <file>', 'write what was built (containerimage.digest, containerimage.config.digest, image.name) as JSON to this file')
    .action(async (context: string, flags: Record<string, unknown>, cmd: Command) => {
      // Date, not performance: the global `performance` loads perf_hooks (~1 ms) on first use
      const startedAt = Date.now();
      if (flags.check) return (await import('./check.ts')).runCheckCommand(context, flags);
      const global = cmd.optsWithGlobals() as { root?: string };
      const root = resolveStateRoot(global.root);
      const config = await loadConfig(root);
      // a git URL, `-` or `-f -`: materialised in a temp directory, removed when the process ends
      const source = await prepareContext({ context, file: flags.file as string | undefined, get stdin() { return process.stdin; }, stateRoot: root });
      process.once('exit', () => source.cleanup());
      const progressMode = (await import('../progress-mode.ts')).progressModeFrom(flags.quiet === true, flags.progress as string | undefined, process.env);
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
      // flags over the config file's [build] table
      const maxParallelism = flags.maxParallelism === undefined ? config.build?.maxParallelism : Number(flags.maxParallelism);
      if (maxParallelism !== undefined && !(Number.isInteger(maxParallelism) && maxParallelism > 0)) {
        throw invalid(ErrorCodes.OPTION_INVALID, `--max-parallelism must be a positive whole number, not "${String(flags.maxParallelism)}"`);
      }
      const opts = resolveBuildOptions({
        context: source.context,
        file: source.file,
        dockerfileName: source.dockerfileName,
        tags: flags.tag as string[] | undefined,
        buildArgs,
        buildContexts,
        target: flags.target as string | undefined,
        noCache: flags.cache === false,
        noCacheFilter: Array.isArray(flags.cacheFilter) ? (flags.cacheFilter as string[]) : undefined,
        pull: flags.pull === true,
        outputs,
        push: flags.push === true,
        load: flags.load === true,
        platform: flags.platform as string | undefined,
        progress: progressMode,
        maxParallelism,
        insecureRegistries: [...(config.insecureRegistries ?? []), ...((flags.insecureRegistry as string[] | undefined) ?? [])],
        registryMirrors: config.registryMirrors,
        secrets: ((flags.secret as string[] | undefined) ?? []).map((x) => parseSecret(x)),
        limits: (await import('./build-limits.ts')).resolveLimits(flags, config),
        ssh: ((flags.ssh as string[] | undefined) ?? []).map((x) => parseSsh(x)),
        network: parseNetworkMode((flags.network as string | undefined) ?? config.build?.network ?? 'default'),
        allow: ((flags.allow as string[] | undefined) ?? []).map(parseEntitlement),
        addHosts: ((flags.addHost as string[] | undefined) ?? []).map(parseAddHost),
        explain: flags.explain === true,
        cacheFrom: ((flags.cacheFrom as string[] | undefined) ?? []).map(parseCacheFrom),
        cacheTo: ((flags.cacheTo as string[] | undefined) ?? []).map(parseCacheTo),
        sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
        labels: Object.fromEntries(((flags.label as string[] | undefined) ?? []).map(parseLabel)),
      });
      // as buildx: the files of type=local or type=tar are no image, so there is no id to write
      if (flags.iidfile !== undefined && opts.outputs.some((o) => o.type === 'local' || o.type === 'tar')) {
        throw invalid(ErrorCodes.OPTION_INVALID, '--iidfile: the local and tar outputs write files, not an image, so there is no image id to write', { hint: 'drop --iidfile, or write an image output (-o type=image, oci or docker)' });
      }
      // quiet renders nothing: stderr is made only if something is written to it (cli/closed-pipe.ts)
      const progress = await createProgress(opts.progress, opts.progress === 'quiet' ? lazyStderr() : process.stderr);
      const { cancelOnSignals, StdioFailed } = await import('../cancel.ts');
      const cancel = cancelOnSignals();
      // stdout or stderr failing (a closed pipe, a full disk) cancels the build, which cleans up first
      const stopWatching = whileWriting((name, e) => cancel.abort(new StdioFailed(stdioFailure(name, e), e.code === 'EPIPE')));
      try {
        // stdout only for an output written there (`-o type=tar,dest=-`): otherwise it is not even made
        const stdout = stdoutOutput(opts.outputs) ? process.stdout : undefined;
        const result = await buildOnce(root, config, opts, { progress, signal: cancel.signal, ...(stdout && { stdout }), prewalk: source.prewalk }).catch((e: unknown) => {
          progress.close();
          // rawjson: the report is one more JSON line, so the stream stays JSON to its end
          throw progress.mode === 'rawjson' ? reportAsJson(cancel.explain(e), process.stderr) : cancel.explain(e);
        });
        progress.close();
        // from here a failing stdout ends the command as any other does (exit 141, or an ERROR line and
        // exit 1): aborting a finished build would do nothing, and the id printed below would be lost
        // with exit 0. A failure that came as the build ended is its failure still
        stopWatching();
        if (cancel.signal.aborted) throw cancel.signal.reason;
        if (flags.iidfile !== undefined || flags.metadataFile !== undefined) (await import('../build-files.ts')).writeBuildFiles(result, { iidfile: flags.iidfile as string | undefined, metadataFile: flags.metadataFile as string | undefined });
        // an archive on stdout is all that goes there: the id goes with the other messages
        if (opts.progress === 'quiet') writeStdio(stdoutOutput(opts.outputs) ? 'stderr' : 'stdout', `${result.imageId}\n`);
        else if (progress.mode !== 'rawjson') {
          const names = [...new Set(result.exports.flatMap((x) => x.names))];
          // the summary, once: digest, names, size and total time (as buildx's last lines say them)
          const took = ((Date.now() - startedAt) / 1000).toFixed(1);
          process.stderr.write(`\nBuilt ${result.imageId.slice(0, 19)}${names.length ? ` as ${names.join(', ')}` : ''} (${result.ran} steps ran, ${result.cached} cached) ${humanSize(result.size)} in ${took}s\n`);
        }
      } finally {
        progress.close();
        cancel.dispose();
        stopWatching();
      }
    });
}

/** One engine for the one build a command line asks for. */
async function buildOnce(root: string, config: Config, opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> {
  const engine = await openEngine({ root, config });
  try {
    return await engine.build(opts, run);
  } finally {
    // the process ends after this build: a no-change rebuild's database is left to the exit
    await engine.close({ exiting: true });
  }
}
