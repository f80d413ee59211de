// Times tsbuild's scenarios and, where they are installed, the same scenarios with BuildKit
// (Docker 20.10's, through shared/tools/oracle.sh) and Buildah; prints the figures and ratios.
//   npm run bench [-- --runs N]
// Scenarios: cold build of fixtures/hello on a fresh state root (the busybox base prebuilt),
// no-change rebuild, and CLI start-up (--version, --help).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'bin', 'tsbuild.js');
const hello = join(repo, 'fixtures', 'hello');
const oracle = join(repo, '..', 'shared', 'tools', 'oracle.sh');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;

type Tool = 'tsbuild' | 'buildkit' | 'buildah';
const results = new Map<string, Partial<Record<Tool, number>>>();

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
}

function record(scenario: string, tool: Tool, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  results.set(scenario, { ...results.get(scenario), [tool]: median });
}

const tsb = (root: string, ...args: string[]) => run(process.execPath, [bin, '--root', root, ...args]);
const work = mkdtempSync(join(tmpdir(), 'tsbuild-bench-'));
const baseTar = join(work, 'busybox.oci.tar');
try {
  // the base image, built once and imported into every fresh root
  const seed = join(work, 'seed');
  tsb(seed, 'build', '--progress', 'quiet', '--build-context', 'busybox-bin=/usr/bin', '-t', 'busybox', '--output', `type=oci,dest=${baseTar}`, join(repo, 'fixtures', 'busybox'));
  const freshRoot = (i: number) => {
    const root = join(work, `root-${i}`);
    tsb(root, 'build', '--progress', 'quiet', '--build-context', 'busybox-bin=/usr/bin', '-t', 'busybox', join(repo, 'fixtures', 'busybox'));
    return root;
  };

  // ---- tsbuild
  record('cli --version', 'tsbuild', Array.from({ length: 5 }, () => time(() => run(process.execPath, [bin, '--version']))));
  record('cli --help', 'tsbuild', Array.from({ length: 5 }, () => time(() => run(process.execPath, [bin, '--help']))));
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const root = freshRoot(i);
    cold.push(time(() => tsb(root, 'build', '--progress', 'quiet', '-t', 'hello', hello)));
    warm.push(time(() => tsb(root, 'build', '--progress', 'quiet', '-t', 'hello', hello)));
  }
  record('cold build (hello)', 'tsbuild', cold);
  record('no-change rebuild (hello)', 'tsbuild', warm);

  // ---- BuildKit, through Docker 20.10's built-in one
  if (existsSync('/usr/bin/docker') && existsSync('/usr/sbin/dockerd') && existsSync(oracle)) {
    const host = /DOCKER_HOST=(\S+)/.exec(execFileSync('bash', [oracle, 'start'], { encoding: 'utf8' }))?.[1];
    if (host) {
      const env = { DOCKER_HOST: host, DOCKER_BUILDKIT: '1' };
      run('bash', [oracle, 'import', 'busybox:latest', baseTar]);
      const bkCold: number[] = [];
      const bkWarm: number[] = [];
      for (let i = 0; i < runs; i++) {
        run('/usr/bin/docker', ['builder', 'prune', '-af'], env);
        bkCold.push(time(() => run('/usr/bin/docker', ['build', '-q', '--network=none', '-t', 'bench-hello', hello], env)));
        bkWarm.push(time(() => run('/usr/bin/docker', ['build', '-q', '--network=none', '-t', 'bench-hello', hello], env)));
      }
      record('cold build (hello)', 'buildkit', bkCold);
      record('no-change rebuild (hello)', 'buildkit', bkWarm);
    }
  } else console.error('bench: docker not installed: BuildKit comparison skipped');

  // ---- Buildah
  if (spawnSync('buildah', ['--version']).status === 0) {
    const bhCold: number[] = [];
    const bhWarm: number[] = [];
    const baseId = execFileSync('buildah', ['pull', '-q', `oci-archive:${baseTar}`], { encoding: 'utf8' }).trim().split('\n').pop()!;
    run('buildah', ['tag', baseId, 'localhost/busybox']);
    for (let i = 0; i < runs; i++) {
      spawnSync('buildah', ['rmi', '-f', 'bench-hello']);
      bhCold.push(time(() => run('buildah', ['bud', '-q', '--layers', '--build-arg', 'BASE=localhost/busybox', '-t', 'bench-hello', hello])));
      bhWarm.push(time(() => run('buildah', ['bud', '-q', '--layers', '--build-arg', 'BASE=localhost/busybox', '-t', 'bench-hello', hello])));
    }
    record('cold build (hello)', 'buildah', bhCold);
    record('no-change rebuild (hello)', 'buildah', bhWarm);
  } else console.error('bench: buildah not installed: Buildah comparison skipped');
} finally {
  rmSync(work, { recursive: true, force: true });
}

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(3)}s`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : `${(b / a).toFixed(2)}x`);
console.log(`median of ${runs} runs (cli: 5); ratio = rival time / tsbuild time (>1: tsbuild faster)`);
console.log(['scenario'.padEnd(28), 'tsbuild'.padStart(9), 'buildkit'.padStart(9), 'buildah'.padStart(9), 'vs bk'.padStart(7), 'vs buildah'.padStart(10)].join(' '));
for (const [name, r] of results) {
  console.log([name.padEnd(28), fmt(r.tsbuild).padStart(9), fmt(r.buildkit).padStart(9), fmt(r.buildah).padStart(9), ratio(r.tsbuild, r.buildkit).padStart(7), ratio(r.tsbuild, r.buildah).padStart(10)].join(' '));
}
