// One build, end to end: Dockerfile → frontend → solver → worker → exporter.
import { openContentStore, openImageStore } from '../src/content/index.ts';
import { ErrorCodes, TsbuildError, rememberSourceText } from '../src/errors/index.ts';
import type { ProgressSink } from '../src/progress/index.ts';
import { openDatabase, statePaths } from '../src/state/index.ts';
import { createBuildDefinition } from '../frontend/index.ts';
import type { NamedContext } from '../frontend/index.ts';
import { solve } from '../solver/index.ts';
import { openWorker } from '../worker/index.ts';
import { createImageView, exportImage } from '../exporter/index.ts';
import type { ExportResult } from '../exporter/index.ts';
import { checksumSources, openFileDigestCache, readDockerignore } from '../src/context/index.ts';
import type { ResolvedBuildOptions } from './options.ts';
import { exportFiles } from './export-files.ts';
import { readSecrets } from './secrets.ts';
import { openSshAgents } from './ssh-agents.ts';
import { createImageResolver } from './resolve-image.ts';
import { readDockerfile } from './read-dockerfile.ts';
import { importOciLayout } from './oci-layout-context.ts';
import { needsSandboxNetwork } from './sandbox-network.ts';

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

export async function runBuild(opts: ResolvedBuildOptions, stateRoot: string, progress: ProgressSink, signal?: AbortSignal): Promise<BuildResult> {
  const paths = statePaths(stateRoot);
  const db = openDatabase(paths.db);
  try {
    const content = openContentStore(paths.content);
    const images = openImageStore({ content, db });
    const dockerfile = readDockerfile(opts.contextDir, opts.dockerfilePath, opts.dockerfileName);
    rememberSourceText(opts.dockerfileName, dockerfile);
    const excludePatterns = await readDockerignore(opts.contextDir, opts.dockerfilePath);
    const resolveImage = createImageResolver({ content, images, insecureRegistries: opts.insecureRegistries, progress, signal });

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
      excludePatterns,
      resolveImage,
      network: opts.network,
      entitlements: opts.entitlements,
      extraHosts: opts.extraHosts,
    });
    for (const w of def.warnings) progress.emit({ type: 'build.warning', message: w.message, location: w.location });
    signal?.throwIfAborted();

    const worker = await openWorker({ root: paths.root, db, content, warmNetwork: needsSandboxNetwork(def.root), insecureRegistries: opts.insecureRegistries });
    if (worker.snapshotter.notice) progress.emit({ type: 'build.warning', message: worker.snapshotter.notice });
    const sshAgents = await openSshAgents(opts.ssh).catch(async (e: unknown) => {
      await worker.close();
      throw e;
    });
    try {
      const solved = await solve(def.root, {
        worker,
        db,
        localDirs,
        checksum: (name, src, excludes, { followSymlinks }) => checksumSources(localDirs.get(name)!, src, excludes, { followSymlinks, cache: openFileDigestCache(db) }),
        progress,
        noCache: opts.noCache,
        noCacheStages: opts.noCacheFilter,
        maxParallelism: opts.maxParallelism,
        secrets: await readSecrets(opts.secrets),
        limits: opts.limits,
        sshAgents: sshAgents.sockets,
        signal,
      });

      const exportVertex = { digest: 'export', name: 'exporting to image' };
      progress.emit({ type: 'vertex.started', vertex: exportVertex });
      const chain = solved.snapshot ? worker.chain(solved.snapshot) : [];
      const layers = [];
      // BuildKit keeps an empty diff as a layer (the oracle shows `RUN true` and a WORKDIR that
      // already exists each adding one), and images must match it layer for layer
      for (const id of chain) layers.push({ ...(await worker.layer(id, { signal })), empty: false });
      const view = await createImageView({ config: def.config, layers, content });
      const exports: ExportResult[] = [];
      // only a push needs the HTTP client: load it then
      const registry = opts.outputs.some((o) => o.type === 'image' && o.push)
        ? (await import('../src/registry/index.ts')).createRegistryClient({ insecureRegistries: [...opts.insecureRegistries] })
        : undefined;
      for (const output of opts.outputs) {
        signal?.throwIfAborted();
        if (output.type === 'local' || output.type === 'tar') {
          const { skippedDevices: devices } = await exportFiles(worker, solved.snapshot, output, signal);
          if (devices.length > 0) {
            const shown = devices.slice(0, 5).map((d) => `/${d.replace(/^\.?\//, '')}`).join(', ');
            progress.emit({ type: 'build.warning', message: `--output type=local: ${devices.length} device node(s) not written to ${output.dest} (${shown}${devices.length > 5 ? ', …' : ''})` });
          }
        }
        else exports.push(await exportImage(view, output, { content, images, registry, signal }));
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
      await sshAgents.close();
      await worker.close();
    }
  } finally {
    db.close();
  }
}
