// One build, end to end, on an opened engine: Dockerfile → frontend → solver → worker → exporter.
// Everything here is this build's own (its Dockerfile text, .dockerignore, contexts, secrets, SSH
// agents): two builds on one engine share only the engine's parts.
import { ErrorCodes, invalid, withSourceText } from '../src/errors/index.ts';
import { createBuildDefinition } from '../frontend/index.ts';
import type { NamedContext } from '../frontend/index.ts';
import { parallelismFor, solve, withImportedCaches } from '../solver/index.ts';
import type { RegistryClient } from '../src/registry/index.ts';
import { InlineCacheField } from './cache-format.ts';
import { exportImage } from '../exporter/index.ts';
import type { ExportResult } from '../exporter/index.ts';
import { checksumSources, notePrewalkWanted, openFileDigestCache, openReadFingerprints, readDockerignoreFile } from '../src/context/index.ts';
import type { BuildRun, EngineParts } from './engine.ts';
import type { ResolvedBuildOptions } from './options.ts';
import type { VertexRef } from '../src/progress/index.ts';
import { createOutputViews, leavingCompressions } from './output-views.ts';
import { exportFiles } from './export-files.ts';
import { readSecrets } from './secrets.ts';
import { openSshAgents } from './ssh-agents.ts';
import { createImageResolver } from './resolve-image.ts';
import { readDockerfile } from './read-dockerfile.ts';
import { importOciLayout } from './oci-layout-context.ts';
import { checkOutputs } from './check-outputs.ts';
import { createContextLoadReporter, dockerfileVertex, dockerignoreBytes, dockerignoreVertex, fullImageName, internalStep, reportStatus } from './build-progress.ts';
import { baseImagesOf, clampsLayerTimes, stampCreated } from './created-times.ts';
import { cachedViewLayers, outputsTakeCachedLayers, pushCachedLayers, reportCacheDownloads } from './push-cached-layers.ts';
import type { LayerRecord } from '../worker/index.ts';
import { withLabels } from './build-labels.ts';

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
  /** Bytes of the image's layers as the local store holds them (what `tsbuild images` shows as SIZE). */
  size: number;
}

export async function runBuild(engine: EngineParts, opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> {
  // refused before any work rather than after it
  if (!run.stdout && opts.outputs.some((o) => o.type === 'tar' && o.dest === '-')) {
    throw invalid(ErrorCodes.OUTPUT_FAILED, '--output type=tar,dest=-: this build has no stdout to write to', { hint: 'name a file: dest=out.tar' });
  }
  await checkOutputs(opts.outputs, run);
  const dockerfile = await internalStep(run.progress, dockerfileVertex(opts.dockerfileName), () => readDockerfile(opts.contextDir, opts.dockerfilePath, opts.dockerfileName), (text, started) =>
    reportStatus(run.progress, dockerfileVertex(opts.dockerfileName), 'transferring dockerfile:', started, Buffer.byteLength(text), 'bytes'),
  );
  try {
    return await buildFrom(engine, dockerfile, opts, run);
  } catch (e) {
    // the report shows this build's lines around the error (cli/format-error.ts)
    throw withSourceText(e, opts.dockerfileName, dockerfile);
  }
}

async function buildFrom(engine: EngineParts, dockerfile: string, opts: ResolvedBuildOptions, run: BuildRun): Promise<BuildResult> {
  const buildStarted = Date.now();
  const { content, images, worker, db, cache, leases, locks } = engine;
  const { progress, signal } = run;
  const ignore = await internalStep(progress, dockerignoreVertex, () => readDockerignoreFile(opts.contextDir, opts.dockerfilePath), (_, started) =>
    reportStatus(progress, dockerignoreVertex, 'transferring context:', started, dockerignoreBytes(opts.contextDir, opts.dockerfilePath), 'bytes'),
  );
  // the images this build resolves: their layers are left as they are when SOURCE_DATE_EPOCH clamps times
  const bases = baseImagesOf();
  const clampTimes = clampsLayerTimes(opts.sourceDateEpoch, opts.outputs) ? { epoch: opts.sourceDateEpoch, baseDiffIds: bases.diffIds } : undefined;
  if (opts.sourceDateEpoch === undefined && opts.outputs.some((o) => 'rewriteTimestamp' in o && o.rewriteTimestamp)) {
    progress.emit({ type: 'build.warning', message: 'rewrite-timestamp=true: SOURCE_DATE_EPOCH is not set (env or --build-arg), so no layer time is clamped' });
  }
  for (const message of opts.warnings) progress.emit({ type: 'build.warning', message });
  const resolveImage = createImageResolver({ content, images, insecureRegistries: opts.insecureRegistries, progress, signal, pull: opts.pull, registryMirrors: opts.registryMirrors });
  // --cache-from: read while the base images resolve (each is a registry round trip or two); the
  // imports answer where the local index misses (solver/imported-cache.ts)
  const registryClient = lazyRegistry(opts.insecureRegistries);
  const importing = opts.cacheFrom.length === 0 ? Promise.resolve([]) : import('./cache-import.ts').then((m) => m.openCacheImports(opts.cacheFrom, {
    content, registry: registryClient, signal, progress, platform: opts.platform, warn: (message) => progress.emit({ type: 'build.warning', message }),
  }));
  // awaited below; a build that fails before then must not leave it an unhandled rejection
  importing.catch(() => undefined);

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
    resolveImage: bases.note(resolveImage),
    network: opts.network,
    entitlements: opts.entitlements,
    extraHosts: opts.extraHosts,
  });
  def.config = withLabels(def.config, opts.labels);
  for (const w of def.warnings) progress.emit({ type: 'build.warning', message: w.message, location: w.location });
  signal?.throwIfAborted();

  // not waited for: a new root's overlay probe goes on beside the build (the first snapshot waits for it)
  void worker.snapshotter.then((s) => s.notice && progress.emit({ type: 'build.warning', message: s.notice }), () => undefined);
  const sshAgents = await openSshAgents(opts.ssh);
  // what this build makes and uses is held until it ends: GC (issue 9) leaves it alone
  const lease = leases.create();
  const fileDigests = openFileDigestCache(db);
  const contextLoads = createContextLoadReporter(progress);
  let exporting: VertexRef | undefined;
  const fingerprints = openReadFingerprints(db);
  try {
    const imports = await importing;
    if (imports.some((i) => i.mounts?.length)) {
      await (await import('./cache-import.ts')).restoreImportedMounts(imports, { stateRoot: engine.paths.root, content, signal, warn: (message) => progress.emit({ type: 'build.warning', message }) });
    }
    const solveCache = withImportedCaches(cache, imports, content);
    const secrets = await readSecrets(opts.secrets);
    const solved = await solve(def.root, {
      lease,
      locks,
      worker,
      cache: solveCache,
      localDirs,
      // only the main context has .dockerignore patterns, so only it names their lines
      checksum: (name, src, excludes, { followSymlinks, owner, mode, signal: readSignal, onPart }) =>
        contextLoads.track(name, () =>
          checksumSources(localDirs.get(name)!, src, excludes, { followSymlinks, owner, mode, cache: contextLoads.countingCache(name, fileDigests), fingerprints, patternOrigins: name === 'context' ? ignore.origins : undefined, signal: readSignal, onPart, prewalk: name === 'context' ? run.prewalk : undefined, onWalked: name === 'context' ? (n) => notePrewalkWanted(engine.paths.root, opts.contextDir, n, ignore.patterns) : undefined }),
        ),
      progress,
      explain: opts.explain,
      noCache: opts.noCache,
      noCacheStages: opts.noCacheFilter,
      maxParallelism: opts.maxParallelism,
      runInputs: { secrets, limits: opts.limits, sshAgents: sshAgents.sockets, insecureRegistries: opts.insecureRegistries, registryMirrors: opts.registryMirrors },
      signal,
      // a target every output only pushes may stay in the imported cache (control/push-cached-layers.ts)
      ...(imports.length > 0 && !clampTimes && outputsTakeCachedLayers(opts.outputs, opts.cacheTo) && { keepRootLayers: (layers: readonly LayerRecord[]) => cachedViewLayers(layers) !== undefined }),
    });

    const exportVertex = { digest: 'export', name: 'exporting to image' };
    progress.emit({ type: 'vertex.started', vertex: exportVertex });
    exporting = exportVertex;
    if (solved.layers) {
      const importedTimes = new Map(imports.flatMap((i) => [...(i.layerTimes ?? [])]));
      const { view, exports } = await pushCachedLayers({
        layers: cachedViewLayers(solved.layers)!,
        config: (layers) => stampCreated(def.config, layers.map((l) => importedTimes.get(l.diffId)), { epoch: opts.sourceDateEpoch, now: Date.now() }),
        outputs: opts.outputs, imports, content, registry: await registryClient(), hold: (d) => lease.add('blob', d),
        fetch: (blob, fetchSignal) => solveCache.ensureBlobs!([{ diffId: '', empty: false, blobs: [blob] }], fetchSignal),
        progress, vertex: exportVertex, signal,
      });
      progress.emit({ type: 'vertex.done', vertex: exportVertex });
      reportCacheDownloads(imports, progress);
      return { imageId: view.configDescriptor.digest, digest: view.manifestDescriptor.digest, exports, ran: solved.stats.ran, cached: solved.stats.cached, warnings: def.warnings.map((w) => w.message), size: view.layers.reduce((n, l) => n + l.descriptor.size, 0) };
    }
    const chain = solved.snapshot ? worker.chain(solved.snapshot) : [];
    const layersStarted = Date.now();
    // each layer's time is its snapshot's: a cached step keeps it, so a no-change rebuild is the same image
    const snapshotTimes = new Map(chain.length > 0 ? worker.storage.snapshots().map((s) => [s.name, s.created]) : []);
    // a layer this build unpacked from an imported cache keeps the time the exporting build made it
    const importedTimes = new Map(imports.flatMap((i) => [...(i.layerTimes ?? [])]));
    // --cache-to type=inline: the cache graph travels in the image config (control/cache-export.ts)
    const inline = def.root && opts.cacheTo.some((c) => c.type === 'inline')
      ? { [InlineCacheField]: (await import('./cache-export.ts')).inlineCacheConfig(worker, { root: def.root, plan: solved.plan, cache: solveCache }, chain) }
      : {};
    const imageConfig = (layers: readonly { diffId: string }[]) => {
      const layerTime = (id: string, i: number) => {
        const t = snapshotTimes.get(id);
        return (t === undefined || t >= buildStarted) && importedTimes.has(layers[i].diffId) ? importedTimes.get(layers[i].diffId) : t;
      };
      return { ...stampCreated(def.config, chain.map(layerTime), { epoch: opts.sourceDateEpoch, now: Date.now() }), ...inline };
    };
    const bounds = parallelismFor(opts.maxParallelism);
    const views = createOutputViews({ worker, chain, config: imageConfig, content, lease, progress, vertex: exportVertex, signal, parallelism: bounds.cpu, ioParallelism: bounds.contentReads, ahead: leavingCompressions(opts.outputs), clampTimes });
    const view = await views.local();
    reportStatus(progress, exportVertex, 'exporting layers', layersStarted);
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
      else {
        const started = Date.now();
        // a failed push leaves none of its names behind, -t ones included (what the push was for did not happen)
        exports.push(await exportImage(view, output, { content, images, registry, signal, stdout: run.stdout, hold: (d) => lease.add('blob', d), compressed: views.compressed, progress, vertex: exportVertex }));
        if (output.type === 'image') {
          reportStatus(progress, exportVertex, `writing image ${view.configDescriptor.digest}`, started);
          for (const name of output.names) reportStatus(progress, exportVertex, `naming to ${fullImageName(name)}`, started);
        } else {
          reportStatus(progress, exportVertex, `exporting manifest ${view.manifestDescriptor.digest}`, started);
          reportStatus(progress, exportVertex, `exporting config ${view.configDescriptor.digest}`, started);
          reportStatus(progress, exportVertex, `sending tarball to ${output.dest}`, started);
        }
      }
    }
    progress.emit({ type: 'vertex.done', vertex: exportVertex });
    // --cache-to: a failed cache export is a warning unless ignore-error=false
    if (def.root) {
      for (const spec of opts.cacheTo) {
        if (spec.type === 'inline') continue;
        const { exportCache } = await import('./cache-export.ts');
        try {
          await exportCache(engine, { root: def.root, plan: solved.plan, cache: solveCache, lease }, spec, {
            progress, signal, parallelism: parallelismFor(opts.maxParallelism).cpu, registry: registryClient,
            cacheMounts: { stateRoot: engine.paths.root, secrets: [...secrets.values()] },
          });
        } catch (e) {
          signal?.throwIfAborted();
          if (!spec.ignoreError) throw e;
          progress.emit({ type: 'build.warning', message: `--cache-to ${spec.type === 'local' ? spec.dest : spec.ref}: the cache was not exported: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
    }
    // what the imported caches cost this build in downloads (≈0 when nothing had to be unpacked)
    reportCacheDownloads(imports, progress);
    return {
      imageId: view.configDescriptor.digest,
      digest: view.manifestDescriptor.digest,
      exports,
      ran: solved.stats.ran,
      cached: solved.stats.cached,
      warnings: def.warnings.map((w) => w.message),
      size: view.layers.reduce((n, l) => n + l.descriptor.size, 0),
    };
  } catch (e) {
    // the export's line ends as ERROR (or CANCELED), not as a step still running
    if (exporting) progress.emit({ type: 'vertex.error', vertex: exporting, message: e instanceof Error ? e.message : String(e), cancelled: signal?.aborted || undefined });
    throw e;
  } finally {
    // reads of files edited just before this build are kept now that they have settled
    fingerprints.settle();
    lease.release();
    await sshAgents.close();
  }
}

/** The registry client, made once on first use: a build that never talks to a registry never loads it. */
function lazyRegistry(insecureRegistries: readonly string[]): () => Promise<RegistryClient> {
  let client: Promise<RegistryClient> | undefined;
  return () => (client ??= import('../src/registry/index.ts').then((r) => r.createRegistryClient({ insecureRegistries: [...insecureRegistries] })));
}

