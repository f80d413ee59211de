// Issue 11's benchmark: a CI runner B, on an empty machine, builds bench/contexts/ci-cache from the
// cache runner A left in a registry and pushes the image. tsbuild: `--cache-from REG/app:cache`
// (runner A: --cache-to type=registry,mode=max) on a new state root; BuildKit (Docker 20.10's
// built-in): `docker build --cache-from REG/app:inline` + `docker push` (runner A built with
// BUILDKIT_INLINE_CACHE=1) after its images and build cache were removed. The base comes from the
// same registry for both. Timed end to end; the bytes each runner B moved are read from the
// registry's access log (what it sent: manifests and blobs; which blobs were uploaded).
//   node bench/ci-cache.ts [--runs N]          (also run by `npm run bench -- --only ci-cache`)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../test/_support/registry.ts';
import { createResults, formatTable, machine, median, run, time, type Results, type Tool } from './measure.ts';
import { shebangNodeFlags } from '../cli/bin-flags.ts';

export interface CiCacheOptions {
  repo: string;
  bin: string;
  oracle: string;
  /** The busybox base as an OCI archive: pushed to the registry as REG/busybox. */
  busyboxOciTar: string;
  work: string;
  runs: number;
  warmups: number;
  tools: readonly Tool[];
  results: Results;
}

/** What the registry served in a stretch of its access log. */
export function registryTraffic(lines: readonly string[]): { sentBytes: number; blobGets: number; blobUploads: number; mounts: number } {
  let sentBytes = 0;
  let blobGets = 0;
  let blobUploads = 0;
  let mounts = 0;
  for (const l of lines) {
    const m = /"(\w+) (\S+) HTTP\/[\d.]+" (\d+) (\d+|-)/.exec(l);
    if (!m) continue;
    const [, method, path, status] = m;
    if (method === 'GET') sentBytes += m[4] === '-' ? 0 : Number(m[4]);
    if (method === 'GET' && path.includes('/blobs/sha256:') && status === '200') blobGets++;
    if (method === 'POST' && path.includes('mount=') && status === '201') mounts++;
    if (method === 'PUT' && path.includes('/blobs/uploads/') && status === '201') blobUploads++;
  }
  return { sentBytes, blobGets, blobUploads, mounts };
}

export async function benchCiCache(opts: CiCacheOptions): Promise<void> {
  const { results } = opts;
  const registry = await startRegistry({ accessLog: true });
  const host = registry.host;
  const context = join(opts.repo, 'bench', 'contexts', 'ci-cache');
  const base = `${host}/busybox:latest`;
  const target = 'tsbuild <= 0.5x BuildKit and < 2 s';
  const traffic = new Map<Tool, ReturnType<typeof registryTraffic>[]>();
  try {
    run('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci-archive:${opts.busyboxOciTar}`, `docker://${base}`]);
    const tsbuild = (root: string, ...args: string[]) => {
      const r = spawnSync(process.execPath, [...shebangNodeFlags(opts.bin), opts.bin, '--root', root, 'build', '--progress', 'plain', '--build-arg', `BASE=${base}`, ...args, context], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`tsbuild build ${args.join(' ')} exited with ${r.status}:\n${r.stderr.split('\n').slice(-20).join('\n')}`);
      return r.stderr;
    };
    const runners: { tool: Tool; a(): void; b(): void; reset(): void; close(): void }[] = [];
    if (opts.tools.includes('tsbuild')) {
      let roots: string[] = [];
      const root = () => {
        const r = mkdtempSync(join(opts.work, 'ci-runner-'));
        roots.push(r);
        return r;
      };
      runners.push({
        tool: 'tsbuild',
        a: () => void tsbuild(root(), '--cache-to', `type=registry,ref=${host}/app:cache,mode=max`, '--push', '-t', `${host}/app:a`),
        b: () => {
          const out = tsbuild(root(), '--cache-from', `${host}/app:cache`, '--push', '-t', `${host}/app:b`);
          if (!/\(0 steps ran/.test(out)) results.note(`ci-cache: tsbuild runner B ran steps: ${/\(\d+ steps ran, \d+ cached\)/.exec(out)?.[0] ?? 'no summary'}`);
        },
        reset: () => {
          for (const r of roots) rmSync(r, { recursive: true, force: true });
          roots = [];
        },
        close: () => undefined,
      });
    }
    if (opts.tools.includes('buildkit')) {
      const docker = dockerRunner(opts.oracle, host, base, context);
      if (typeof docker === 'string') results.note(`ci-cache: ${docker}`);
      else runners.push(docker);
    }
    for (const r of runners) {
      const samples: number[] = [];
      try {
        r.reset();
        r.a();
        for (let i = -opts.warmups; i < opts.runs; i++) {
          r.reset();
          const logged = registry.accessLog().length;
          const took = time(() => r.b());
          console.error(`bench: ci-cache ${r.tool} ${i < 0 ? 'warm-up (not counted)' : `run ${i + 1}/${opts.runs}`}: runner B ${(took / 1000).toFixed(3)}s`);
          if (i < 0) continue;
          samples.push(took);
          traffic.set(r.tool, [...(traffic.get(r.tool) ?? []), registryTraffic(registry.accessLog().slice(logged))]);
        }
        results.record('ci-cache runner B (cache-from, push)', r.tool, samples, target);
      } catch (e) {
        results.note(`ci-cache: ${r.tool} failed, left out: ${(e as Error).message}`);
      } finally {
        r.reset();
        r.close();
      }
    }
    for (const [tool, t] of traffic) {
      const mid = (f: (x: ReturnType<typeof registryTraffic>) => number) => median(t.map(f));
      results.note(`ci-cache: ${tool} runner B moved (median of ${t.length}): ${mid((x) => x.sentBytes)} bytes from the registry (${mid((x) => x.blobGets)} blob downloads), ${mid((x) => x.blobUploads)} blob uploads, ${mid((x) => x.mounts)} cross-repository mounts`);
    }
  } finally {
    await registry.stop();
  }
}

/** Docker 20.10's BuildKit on the bench's private dockerd (oracle.sh), with inline cache. */
function dockerRunner(oracle: string, host: string, base: string, context: string) {
  if (!existsSync('/usr/bin/docker') || !existsSync('/usr/sbin/dockerd')) return 'docker absent: BuildKit skipped';
  if (!existsSync(oracle)) return `${oracle} missing: BuildKit skipped`;
  const state = process.env.TSBUILD_BENCH_ORACLE_STATE ?? '/var/lib/tsbuild-bench-oracle';
  const oracleEnv = { ORACLE_STATE: state };
  const running = spawnSync('bash', ['-c', `kill -0 "$(cat ${JSON.stringify(join(state, 'dockerd.pid'))})"`], { stdio: 'ignore' }).status === 0;
  const dockerHost = /DOCKER_HOST=(\S+)/.exec(run('bash', [oracle, 'start'], { env: oracleEnv }))?.[1];
  if (!dockerHost) return 'oracle.sh start printed no DOCKER_HOST: BuildKit skipped';
  const env = { DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: '1' };
  const docker = (...args: string[]) => run('/usr/bin/docker', args, { env });
  const build = (tag: string, ...args: string[]) => docker('build', '-q', '--network=none', '--build-arg', `BASE=${base}`, ...args, '-t', tag, context);
  // an empty machine: none of the images (the base included) and no build cache
  const tags = [`${host}/app:inline`, `${host}/app:dockerb`, base];
  return {
    tool: 'buildkit' as const,
    a: () => {
      build(`${host}/app:inline`, '--build-arg', 'BUILDKIT_INLINE_CACHE=1');
      docker('push', '-q', `${host}/app:inline`);
    },
    b: () => {
      build(`${host}/app:dockerb`, '--cache-from', `${host}/app:inline`);
      docker('push', '-q', `${host}/app:dockerb`);
    },
    reset: () => {
      // every image, not only ours: the bench's other scenarios leave busybox in this daemon, whose
      // layer runner B would then find instead of downloading it as an empty CI machine must
      const all = spawnSync('/usr/bin/docker', ['images', '-aq'], { env: { ...process.env, ...env }, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      spawnSync('/usr/bin/docker', ['rmi', '-f', ...tags, ...new Set(all)], { env: { ...process.env, ...env }, stdio: 'ignore' });
      docker('builder', 'prune', '-af');
    },
    close: () => void (running || run('bash', [oracle, 'stop'], { env: oracleEnv })),
  };
}

// run on its own: the busybox base made here, one table printed
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
  const bin = join(repo, 'bin', 'tsbuild.js');
  const flag = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const runs = Number(flag('--runs')) || 3;
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-bench-ci-'));
  const results = createResults();
  const loadBefore = machine();
  try {
    const busyboxOciTar = join(work, 'busybox.oci.tar');
    run(process.execPath, [...shebangNodeFlags(bin), bin, '--root', join(work, 'seed'), 'build', '--progress', 'quiet', '--build-context', 'busybox-bin=/usr/bin', '-o', `type=oci,dest=${busyboxOciTar}`, join(repo, 'fixtures', 'busybox')]);
    await benchCiCache({ repo, bin, oracle: process.env.TSBUILD_ORACLE ?? join(repo, '..', 'shared', 'tools', 'oracle.sh'), busyboxOciTar, work, runs, warmups: 1, tools: ['tsbuild', 'buildkit'], results });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`machine at start: ${loadBefore}\nmachine at end:   ${machine()}\n\n${formatTable(results, runs)}\n`);
  for (const n of results.notes) console.log(`- ${n}`);
}
