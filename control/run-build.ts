// One build, end to end, on an opened engine: Dockerfile → frontend → solver → worker → exporter.
// Everything here is this build's own (its Dockerfile text, .dockerignore, contexts, secrets, SSH
// agents): two builds on one engine share only the engine's parts.
import { ErrorCodes, invalid, withSourceText } from '../src/errors/index.ts';
import { createBuildDefinition } from '../frontend/index.ts';
import type { NamedContext } from '../frontend/index.ts';
import { parallelismFor, solve } from '../solver/index.ts';
import { exportImage } from '../exporter/index.ts';
import type { ExportResult } from '../exporter/index.ts';
import { checksumSources, openFileDigestCache, readDockerignoreFile } from '../src/context/index.ts';
import type { BuildRun, EngineParts } from './engine.ts';
import type { ResolvedBuildOptions } from './options.ts';
import { createOutputViews } from './output-views.ts';
import { exportFiles } from './export-files.ts';
import { readSecrets } from './secrets.ts';
import { openSshAgents } from './ssh-agents.ts';
import { createImageResolver } from './resolve-image.ts';
import { readDockerfile } from './read-dockerfile.ts';
import { importOciLayout } from './oci-layout-context.ts';

export interface BuildResult {
  /** The config digest, as `docker images` shows IMAGE ID. */
  imageId: string;
  /** The manifest digest. */
  digest: string;
  exports: ExportResult[];
  /** Steps that ran, and steps answered from the cache. */
  ran: number;
  cached: number;
  warnings: string[];
}

export async function runBuild(engine: EngineParts, opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> {
  // refused before any work rather than after it
  if (!run.stdout && opts.outputs.some((o) => o.type === 'tar' && o.dest === '-')) {
    throw invalid(ErrorCodes.OUTPUT_FAILED, '--output type=tar,dest=-: this build has no stdout to write to', { hint: 'name a file: dest=out.tar' });
  }
  const dockerfile = readDockerfile(opts.contextDir, opts.dockerfilePath, opts.dockerfileName);
  try {
    return await buildFrom(engine, dockerfile, opts, run);
  } catch (e) {
    // the report shows this build's lines around the error (cli/format-error.ts)
    throw withSourceText(e, opts.dockerfileName, dockerfile);
  }
}

async function buildFrom(engine: EngineParts, dockerfile: string, opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> {
  const { content, images, worker, db, cache, leases, locks } = engine;
  const { progress, signal } = run;
  const ignore = await readDockerignoreFile(opts.contextDir, opts.dockerfilePath);
  const resolveImage = createImageResolver({ content, images, insecureRegistries: opts.insecureRegistries, progress, signal, pull: opts.pull });

  const namedContexts: Record<string, NamedContext> = {};
  const localDirs = new Map<string, string>([['context', opts.contextDir]]);
  for (const [name, spec] of Object.entries(opts.buildContexts)) {
    if (spec.type === 'local') {
      namedContexts[name] = { type: 'local' };
      localDirs.set(name, spec.dir);
    } else if (spec.type === 'image') {
      namedContexts[name] = { type: 'image', ref: spec.ref };
    } else {
      namedContexts[name] = { type: 'image', ref: await importOciLayout(spec, { content, platform: opts.platform }) };
    }
  }

  const def = await createBuildDefinition({
    dockerfile,
    dockerfilePath: opts.dockerfileName,
    buildArgs: opts.buildArgs,
    target: opts.target,
    platform: opts.platform,
    namedContexts,
    excludePatterns: ignore.patterns,
    resolveImage,
    network: opts.network,
    entitlements: opts.entitlements,
    extraHosts: opts.extraHosts,
  });
  for (const w of def.warnings) progress.emit({ type: 'build.warning', message: w.message, location: w.location });
  signal?.throwIfAborted();

  if (worker.snapshotter.notice) progress.emit({ type: 'build.warning', message: worker.snapshotter.notice });
  const sshAgents = await openSshAgents(opts.ssh);
  // what this build makes and uses is held until it ends: GC (issue 9) leaves it alone
  const lease = leases.create();
  const fileDigests = openFileDigestCache(db);
  try {
    const solved = await solve(def.root, {
      lease,
      locks,
      worker,
      cache,
      localDirs,
      // only the main context has .dockerignore patterns, so only it names their lines
      checksum: (name, src, excludes, { followSymlinks, owner, mode, signal: readSignal, onPart }) =>
        checksumSources(localDirs.get(name)!, src, excludes, { followSymlinks, owner, mode, cache: fileDigests, patternOrigins: name === 'context' ? ignore.origins : undefined, signal: readSignal, onPart }),
      progress,
      explain: opts.explain,
      noCache: opts.noCache,
      noCacheStages: opts.noCacheFilter,
      maxParallelism: opts.maxParallelism,
      runInputs: { secrets: await readSecrets(opts.secrets), limits: opts.limits, sshAgents: sshAgents.sockets, insecureRegistries: opts.insecureRegistries },
      signal,
    });

    const exportVertex = { digest: 'export', name: 'exporting to image' };
    progress.emit({ type: 'vertex.started', vertex: exportVertex });
    const chain = solved.snapshot ? worker.chain(solved.snapshot) : [];
    const views = createOutputViews({ worker, chain, config: def.config, content, lease, progress, vertex: exportVertex, signal, parallelism: parallelismFor(opts.maxParallelism).cpu });
    const view = await views.local();
    const exports: ExportResult[] = [];
    // only a push needs the HTTP client: load it then
    const registry = opts.outputs.some((o) => o.type === 'image' && o.push)
      ? (await import('../src/registry/index.ts')).createRegistryClient({ insecureRegistries: [...opts.insecureRegistries] })
      : undefined;
    for (const output of opts.outputs) {
      signal?.throwIfAborted();
      if (output.type === 'local' || output.type === 'tar') {
        const { skippedDevices: devices } = await exportFiles(worker, solved.snapshot, output, { signal, stdout: run.stdout });
        if (devices.length > 0) {
          const shown = devices.slice(0, 5).map((d) => `/${d.replace(/^\.?\//, '')}`).join(', ');
          progress.emit({ type: 'build.warning', message: `--output type=local: ${devices.length} device node(s) not written to ${output.dest} (${shown}${devices.length > 5 ? ', …' : ''})` });
        }
      }
      else exports.push(await exportImage(view, output, { content, images, registry, signal, compressed: views.compressed }));
    }
    progress.emit({ type: 'vertex.done', vertex: exportVertex });
    return {
      imageId: view.configDescriptor.digest,
      digest: view.manifestDescriptor.digest,
      exports,
      ran: solved.stats.ran,
      cached: solved.stats.cached,
      warnings: def.warnings.map((w) => w.message),
    };
  } finally {
    lease.release();
    await sshAgents.close();
  }
}
