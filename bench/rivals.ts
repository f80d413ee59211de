// The three builders behind one small interface: reset to a cache holding only the base images
// (untimed), then build a context (timed by the caller). BuildKit is Docker 20.10's built-in one
// through shared/tools/oracle.sh; Buildah is Debian's. A rival that is not installed is skipped
// with one line saying why.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, works, type Tool } from './measure.ts';
import { runAtOnce, type Command } from './at-once.ts';
import { shebangNodeFlags } from '../cli/bin-flags.ts';

/** A base image, named in Dockerfiles by `ARG` (BASE, GCC) and given to each tool from one OCI image. */
export interface Base {
  name: string; // busybox, debian-gcc
  arg: string; // the Dockerfile ARG naming it: BASE, GCC
  ociTar: string; // OCI archive (docker, buildah)
  ociLayout: string; // OCI layout directory (tsbuild --build-context)
}

export interface Rival {
  readonly tool: Tool;
  /** Untimed: from now on the builder's cache holds the given bases (unpacked) and nothing else. */
  reset(bases: readonly Base[]): void;
  /** Timed by the caller: builds `context` (its Dockerfile) as image `tag`. */
  build(context: string, tag: string, bases: readonly Base[]): void;
  /** Timed by the caller: builds each target of `context` as its tag, all started at once (shared-prefix). */
  buildAtOnce?(context: string, builds: readonly { tag: string; target: string }[], bases: readonly Base[]): void;
  /** Timed by the caller: builds `context` as `tag` and writes the image to the tarball `dest`, as the tool's users would. */
  buildAndExport?(context: string, tag: string, bases: readonly Base[], dest: string): void;
  /** Untimed: builds `context` (from a cache holding only the bases) as the image `ref` (HOST:PORT/name:tag). */
  prepareForPush?(context: string, ref: string, bases: readonly Base[]): void;
  /** Timed by the caller: pushes `ref` to its registry (plain HTTP on 127.0.0.1), as the tool's users would. */
  push?(ref: string): void;
  /** How the rival runs RUN steps, for the notes under the table. */
  readonly setup: string;
  /** The peak resident memory (KB) of the last build's process, where the rival can tell (tsbuild: GNU time). */
  peakRssKb?(): number | undefined;
  /** Stops what the bench started for this rival. */
  close(): void;
}

/**
 * tsbuild: a fresh state root per reset; each base imported from its OCI layout and unpacked. Builds
 * run under GNU time when it is installed, for their peak RSS (its own cost is a fork and an exec).
 */
export function createTsbuild(work: string, tsbuild: (...args: string[]) => void, bin: string, argv?: (...args: string[]) => Command): Rival {
  let root = '';
  let n = 0;
  const importer = join(work, 'import');
  const gnuTime = works('/usr/bin/time', ['-f', '%M', 'true']);
  const rssFile = join(work, 'tsbuild-rss');
  let lastKb: number | undefined;
  mkdirSync(importer, { recursive: true });
  return {
    tool: 'tsbuild',
    setup: 'state root created per cold run; default network mode (whatever `tsbuild build` does with no flag)',
    reset(bases) {
      if (root) rmSync(root, { recursive: true, force: true });
      root = join(work, `tsbuild-root-${n++}`);
      for (const base of bases) {
        // tag the image, then run a step on it so its layers are unpacked (as docker load and buildah pull do)
        writeFileSync(join(importer, 'Dockerfile'), 'FROM src\n');
        tsbuild('--root', root, 'build', '--progress', 'quiet', '--build-context', `src=oci-layout://${base.ociLayout}`, '-t', base.name, importer);
        writeFileSync(join(importer, 'Dockerfile'), `FROM ${base.name}\nRUN true\n`);
        tsbuild('--root', root, 'build', '--progress', 'quiet', importer);
      }
    },
    build(context, tag) {
      const args = ['--root', root, 'build', '--progress', 'quiet', '-t', tag, context];
      if (!gnuTime) return void tsbuild(...args);
      run('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...shebangNodeFlags(bin), bin, ...args]);
      lastKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    },
    buildAndExport(context, tag, _bases, dest) {
      tsbuild('--root', root, 'build', '--progress', 'quiet', '-t', tag, '-o', `type=oci,dest=${dest}`, context);
    },
    prepareForPush(context, ref) {
      tsbuild('--root', root, 'build', '--progress', 'quiet', '-t', ref, context);
    },
    push: (ref) => void tsbuild('--root', root, 'push', '-q', ref),
    // two processes on one root, as two users or two CI jobs would start them
    buildAtOnce: argv && ((context, builds) => runAtOnce(builds.map((b) => argv('--root', root, 'build', '--progress', 'quiet', '--target', b.target, '-t', b.tag, context)))),
    peakRssKb: () => lastKb,
    close() {},
  };
}

/**
 * BuildKit in Docker 20.10 (oracle.sh) with a daemon of the bench's own ($TSBUILD_BENCH_ORACLE_STATE,
 * default /var/lib/tsbuild-bench-oracle), so tests using the shared oracle neither slow it down nor
 * lose their cache to its prunes; stopped at the end when the bench started it. Builds with
 * --network=none (the daemon has no bridge).
 */
export function createBuildkit(oracle: string, bases: readonly Base[]): Rival | string {
  if (!existsSync('/usr/bin/docker') || !existsSync('/usr/sbin/dockerd')) return 'docker.io not installed (apt-get install docker.io): BuildKit skipped';
  if (!existsSync(oracle)) return `${oracle} missing (the shared tools): BuildKit skipped`;
  const state = process.env.TSBUILD_BENCH_ORACLE_STATE ?? '/var/lib/tsbuild-bench-oracle';
  const oracleEnv = { ORACLE_STATE: state };
  const wasRunning = daemonRunning(join(state, 'dockerd.pid'));
  const host = /DOCKER_HOST=(\S+)/.exec(run('bash', [oracle, 'start'], { env: oracleEnv }))?.[1];
  if (!host) return 'oracle.sh start printed no DOCKER_HOST: BuildKit skipped';
  const env = { DOCKER_HOST: host, DOCKER_BUILDKIT: '1' };
  const docker = (...args: string[]) => run('/usr/bin/docker', args, { env });
  const stop = () => wasRunning || run('bash', [oracle, 'stop'], { env: oracleEnv });
  try {
    for (const base of bases) run('bash', [oracle, 'import', `${base.name}:latest`, base.ociTar], { env: oracleEnv });
  } catch (e) {
    stop();
    throw e;
  }
  const built = new Set<string>();
  return {
    tool: 'buildkit',
    setup: 'Docker 20.10 built-in BuildKit, `docker build --network=none` (the private daemon has no bridge); `docker builder prune -af` per cold run',
    reset() {
      for (const tag of built) docker('rmi', '-f', tag);
      built.clear();
      docker('builder', 'prune', '-af');
    },
    build(context, tag) {
      built.add(tag);
      docker('build', '-q', '--network=none', '-t', tag, context);
    },
    // Docker 20.10's `docker build -o` has no OCI type: build into the daemon, then save (what its users do)
    buildAndExport(context, tag, _bases, dest) {
      built.add(tag);
      docker('build', '-q', '--network=none', '-t', tag, context);
      docker('save', '-o', dest, tag);
    },
    prepareForPush(context, ref) {
      built.add(ref);
      docker('build', '-q', '--network=none', '-t', ref, context);
    },
    // dockerd sends to registries on 127.0.0.0/8 over plain HTTP without --insecure-registry
    push: (ref) => void docker('push', '-q', ref),
    buildAtOnce(context, builds) {
      for (const b of builds) built.add(b.tag);
      runAtOnce(builds.map((b) => ({ cmd: '/usr/bin/docker', args: ['build', '-q', '--network=none', '--target', b.target, '-t', b.tag, context], env })));
    },
    close: () => void stop(),
  };
}

/** Buildah with --layers (its cache), runc, --network=none; bases pulled from their OCI archives. */
export function createBuildah(bases: readonly Base[]): Rival | string {
  if (!works('buildah', ['--version'])) return 'buildah not installed (apt-get install buildah): Buildah skipped';
  // crun refuses this machine's hybrid cgroup layout; runc works
  const runtime = works('runc', ['--version']) ? ['--runtime', 'runc'] : [];
  for (const base of bases) {
    const id = run('buildah', ['pull', '-q', `oci-archive:${base.ociTar}`]).trim().split('\n').pop()!;
    run('buildah', ['tag', id, `localhost/${base.name}`]);
  }
  const built = new Set<string>();
  const bud = (context: string, tag: string, used: readonly Base[]) => {
    const args = used.flatMap((b) => ['--build-arg', `${b.arg}=localhost/${b.name}`]);
    run('buildah', ['bud', '-q', '--layers', '--network=none', ...runtime, ...args, '-t', tag, context]);
  };
  return {
    tool: 'buildah',
    setup: `Buildah ${run('buildah', ['--version']).trim().split(' ')[2] ?? ''} \`bud --layers --network=none ${runtime.join(' ')}\`; built images and dangling layers removed per cold run`,
    reset() {
      for (const tag of built) works('buildah', ['rmi', '-f', tag]);
      built.clear();
      works('buildah', ['rmi', '--prune']);
    },
    build(context, tag, used) {
      built.add(tag);
      bud(context, tag, used);
    },
    buildAndExport(context, tag, used, dest) {
      built.add(tag);
      bud(context, tag, used);
      run('buildah', ['push', '-q', tag, `oci-archive:${dest}`]);
    },
    prepareForPush(context, ref, used) {
      built.add(ref);
      bud(context, ref, used);
    },
    push: (ref) => void run('buildah', ['push', '-q', '--tls-verify=false', ref, `docker://${ref}`]),
    buildAtOnce(context, builds, used) {
      for (const b of builds) built.add(b.tag);
      const args = used.flatMap((b) => ['--build-arg', `${b.arg}=localhost/${b.name}`]);
      runAtOnce(builds.map((b) => ({ cmd: 'buildah', args: ['bud', '-q', '--layers', '--network=none', ...runtime, ...args, '--target', b.target, '-t', b.tag, context] })));
    },
    close() {
      for (const tag of built) works('buildah', ['rmi', '-f', tag]);
    },
  };
}

function daemonRunning(pidFile: string): boolean {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
