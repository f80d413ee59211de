// Times tsbuild's scenarios and, where they are installed, the same scenarios with BuildKit
// (Docker 20.10's, through shared/tools/oracle.sh) and Buildah; prints a Markdown table of
// medians and ratios, and writes every sample to bench/results/<time>.json.
//   npm run bench [-- --runs N] [--warmup N] [--only hello,many-runs,compile-c,big-context,big-layer-export,parallel-stages,one-stage,shared-prefix,cli,push,apt-heavy,ci-cache] [--tools tsbuild,buildkit,buildah]
// Scenarios (each cold = a cache holding only the base images, then a no-change rebuild):
//   hello      fixtures/hello: three stages, COPY, RUN, WORKDIR (the README's example)
//   many-runs  bench/contexts/many-runs: 20 trivial RUN steps on busybox (per-step cost)
//   compile-c  bench/contexts/compile-c: gcc on a Debian minbase, the binary run on busybox
//   parallel-stages  bench/contexts/parallel-stages: four `sleep 2` stages, then one copying from all four
//   one-stage  bench/contexts/one-stage: one of those stages alone (parallel-stages' bound is 1.1x it)
//   shared-prefix    bench/contexts/shared-prefix: targets a and b built at once (two processes) sharing five CPU-heavy steps
//   big-context  COPY . /app of a generated 20,000-file, ~200 MB context, then one RUN; also timed
//              after one file changed; tsbuild's peak RSS noted
//   big-layer-export  bench/contexts/big-layer-export: one RUN writing 300 MB random + 50 MB text;
//              also timed cold with an export to an image tarball (issue 10)
//   cli        tsbuild --version and --help (start-up cost; tsbuild only)
//   apt-heavy  a toolchain (clang 14, g++ 12, llvm 14: ~625 MB, 33 .debs fetched once into the bench
//              cache, bench/apt-heavy.ts) installed by dpkg -i in one RUN on the compile-c base; also
//              timed cold with an export to an image tarball (issue 10)
//   push       bench/contexts/push: a 5-layer image pushed to a fresh local docker-registry, then
//              pushed again with every blob there (bench/push.ts; issue 10)
//   ci-cache   bench/contexts/ci-cache: a CI runner B on an empty machine from runner A's registry cache, then a push (issue 11)
// See bench/README.md for the last results and how the rivals are set up.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { editOneFile, ensureBigContext, resetEdit } from './big-context.ts';
import { benchCache, ensureDebianGcc } from './debian-gcc.ts';
import { createResults, formatTable, machine, run, time, toolNames, type Tool } from './measure.ts';
import { createBuildah, createBuildkit, createTsbuild, type Base, type Rival } from './rivals.ts';
import { freshBundle } from '../cli/cli-bundle.ts';
import { shebangNodeFlags } from '../cli/bin-flags.ts';
import { timePush } from './push.ts';
import { ensureAptHeavy } from './apt-heavy.ts';
import { benchCiCache } from './ci-cache.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'bin', 'tsbuild.js');
const oracle = process.env.TSBUILD_ORACLE ?? join(repo, '..', 'shared', 'tools', 'oracle.sh');
const flag = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(flag('--runs')) || 3;
const warmups = flag('--warmup') === undefined ? 1 : Number(flag('--warmup'));
const only = flag('--only')?.split(',');
const wantTools = (flag('--tools')?.split(',') ?? toolNames) as Tool[];

interface Scenario {
  name: string;
  context: string;
  bases: readonly Base[];
  target?: string;
  /** Built as these targets at once (two processes each time) instead of one build. */
  atOnce?: readonly string[];
  /** Timed as well: a build after this changed one file of the context (then the no-change rebuild follows it). */
  edit?: { reset: () => void; change: (tag: string) => void; target: string; noChangeTarget: string };
  /** Timed as well: a cold build that also writes the image to a tarball (this row's target). */
  exportTarget?: string;
  /** Timed instead of builds: a push of the built image to a fresh local registry, then a re-push (bench/push.ts); the rows' target. */
  pushTarget?: string;
}

// the bin started as its shebang starts it (with its Node flags), through the Node running the bench
const binArgs = [...shebangNodeFlags(bin), bin];
const tsbuild = (...args: string[]) => void run(process.execPath, [...binArgs, ...args]);
const tsbuildArgv = (...args: string[]) => ({ cmd: process.execPath, args: [...binArgs, ...args] });
const results = createResults();
const work = mkdtempSync(join(tmpdir(), 'tsbuild-bench-'));
const started = new Date();
const loadBefore = machine();
const rivals: Rival[] = [];
try {
  // the busybox base, built once; every tool gets this same image
  const busybox: Base = { name: 'busybox', arg: 'BASE', ociTar: join(work, 'busybox.oci.tar'), ociLayout: join(work, 'busybox.oci') };
  const seed = join(work, 'seed');
  tsbuild('--root', seed, 'build', '--progress', 'quiet', '--build-context', 'busybox-bin=/usr/bin', '-o', `type=oci,dest=${busybox.ociTar}`, '-o', `type=oci,dest=${busybox.ociLayout},tar=false`, join(repo, 'fixtures', 'busybox'));
  rmSync(seed, { recursive: true, force: true });

  const scenarios: Scenario[] = [
    { name: 'hello', context: join(repo, 'fixtures', 'hello'), bases: [busybox] },
    { name: 'many-runs', context: join(repo, 'bench', 'contexts', 'many-runs'), bases: [busybox], target: 'tsbuild <= 0.5x BuildKit' },
    { name: 'parallel-stages', context: join(repo, 'bench', 'contexts', 'parallel-stages'), bases: [busybox], target: 'tsbuild <= 2.2s (1.1x one stage)' },
    { name: 'one-stage', context: join(repo, 'bench', 'contexts', 'one-stage'), bases: [busybox], target: 'parallel-stages cold <= 1.1x this' },
    { name: 'shared-prefix', context: join(repo, 'bench', 'contexts', 'shared-prefix'), bases: [busybox], atOnce: ['a', 'b'], target: 'shared steps run once' },
    { name: 'big-layer-export', context: join(repo, 'bench', 'contexts', 'big-layer-export'), bases: [busybox], target: 'tsbuild <= 1.0x BuildKit', exportTarget: 'tsbuild <= 0.8x the faster rival' },
    { name: 'push', context: join(repo, 'bench', 'contexts', 'push'), bases: [busybox], pushTarget: 'tsbuild < 0.2s' },
  ];
  if (!only || only.includes('compile-c')) {
    let debian: Base | string;
    try {
      debian = ensureDebianGcc(tsbuild, work);
    } catch (e) {
      debian = `the Debian base could not be made: ${(e as Error).message}`;
    }
    if (typeof debian === 'string') results.note(`compile-c skipped: ${debian}`);
    else scenarios.push({ name: 'compile-c', context: join(repo, 'bench', 'contexts', 'compile-c'), bases: [busybox, debian], target: 'tsbuild <= 1.0x BuildKit' });
  }
  if (only?.includes('apt-heavy')) {
    // only when asked for: a toolchain install is minutes of the bench, and its .debs need the mirror once
    try {
      const debian = ensureDebianGcc(tsbuild, work);
      if (typeof debian === 'string') throw new Error(debian);
      scenarios.push({ name: 'apt-heavy', context: ensureAptHeavy(benchCache), bases: [debian], target: 'tsbuild <= 1.0x BuildKit', exportTarget: 'tsbuild <= 1.0x BuildKit' });
    } catch (e) {
      results.note(`apt-heavy skipped: ${(e as Error).message}`);
    }
  }
  if (!only || only.includes('big-context')) {
    const dir = ensureBigContext(benchCache);
    scenarios.push({
      name: 'big-context',
      context: dir,
      bases: [busybox],
      target: 'tsbuild <= 0.5x BuildKit',
      edit: { reset: () => resetEdit(dir), change: (tag) => editOneFile(dir, tag), target: 'tsbuild <= 0.5x BuildKit', noChangeTarget: 'tsbuild <= 0.3x BuildKit' },
    });
  }
  const chosen = scenarios.filter((s) => !only || only.includes(s.name));
  const allBases = [...new Set(chosen.flatMap((s) => s.bases))];

  if ((!only || only.includes('cli')) && wantTools.includes('tsbuild')) {
    for (const args of [['--version'], ['--help']]) {
      results.record(`cli ${args[0]}`, 'tsbuild', Array.from({ length: 5 }, () => time(() => run(process.execPath, [...binArgs, ...args]))));
    }
  }

  for (const tool of wantTools) {
    let made: Rival | string;
    try {
      made = tool === 'tsbuild' ? createTsbuild(work, tsbuild, bin, tsbuildArgv) : tool === 'buildkit' ? createBuildkit(oracle, allBases) : createBuildah(allBases);
    } catch (e) {
      made = `${tool} could not be set up, skipped: ${(e as Error).message}`;
    }
    if (typeof made === 'string') results.note(made);
    else rivals.push(made);
  }

  // the tools take turns within each run, so a burst of load elsewhere on the machine falls on all of them
  for (const s of chosen) {
    const cold = new Map<Tool, number[]>(rivals.map((r) => [r.tool, []]));
    const warm = new Map<Tool, number[]>(rivals.map((r) => [r.tool, []]));
    const edited = new Map<Tool, number[]>(rivals.map((r) => [r.tool, []]));
    const exported = new Map<Tool, number[]>(rivals.map((r) => [r.tool, []]));
    const rss: number[][] = [];
    const failed = new Set<Tool>();
    for (const rival of rivals) if (s.atOnce && !rival.buildAtOnce) failed.add(rival.tool);
    // untimed warm-up rounds first: a daemon just started, cold page caches and lazy loading are not the figure
    for (let i = -warmups; i < runs; i++) {
      for (const rival of rivals.filter((r) => !failed.has(r.tool))) {
        const tag = `bench-${s.name}`;
        try {
          if (s.pushTarget) {
            rival.reset(s.bases);
            const p = await timePush(rival, s.context, s.bases, i);
            if (!p) throw new Error('this tool has no push here');
            console.error(`bench: ${s.name} ${rival.tool} ${i < 0 ? 'warm-up (not counted)' : `run ${i + 1}/${runs}`}: first push ${(p.first / 1000).toFixed(3)}s, re-push ${(p.again / 1000).toFixed(3)}s`);
            if (i >= 0) {
              cold.get(rival.tool)!.push(p.first);
              warm.get(rival.tool)!.push(p.again);
            }
            continue;
          }
          rival.reset(s.bases);
          s.edit?.reset();
          const atOnce = s.atOnce?.map((target) => ({ tag: `${tag}-${target}`, target }));
          const build = () => (atOnce ? rival.buildAtOnce!(s.context, atOnce, s.bases) : rival.build(s.context, tag, s.bases));
          const c = time(build);
          const kb = [rival.peakRssKb?.()];
          s.edit?.change(`${rival.tool} ${i} ${Date.now()}`);
          const e = s.edit ? time(build) : undefined;
          if (s.edit) kb.push(rival.peakRssKb?.());
          const w = time(build);
          kb.push(rival.peakRssKb?.());
          let x: number | undefined;
          if (s.exportTarget && rival.buildAndExport) {
            const dest = join(work, `${tag}.tar`);
            rival.reset(s.bases);
            x = time(() => rival.buildAndExport!(s.context, tag, s.bases, dest));
            rmSync(dest, { force: true });
          }
          const which = i < 0 ? 'warm-up (not counted)' : `run ${i + 1}/${runs}`;
          const oneFile = e === undefined ? '' : `, one file changed ${(e / 1000).toFixed(3)}s`;
          const withExport = x === undefined ? '' : `, cold with export to a tarball ${(x / 1000).toFixed(3)}s`;
          console.error(`bench: ${s.name} ${rival.tool} ${which}: cold ${(c / 1000).toFixed(3)}s${oneFile}, no-change ${(w / 1000).toFixed(3)}s${withExport}`);
          if (i < 0) continue;
          cold.get(rival.tool)!.push(c);
          if (e !== undefined) edited.get(rival.tool)!.push(e);
          warm.get(rival.tool)!.push(w);
          if (x !== undefined) exported.get(rival.tool)!.push(x);
          if (rival.tool === 'tsbuild' && s.edit && kb.every((k) => k !== undefined)) rss.push(kb as number[]);
        } catch (e) {
          // one tool failing a scenario leaves a line and a gap in the table, not a lost bench
          failed.add(rival.tool);
          results.note(`${s.name}: ${rival.tool} failed, left out of this scenario: ${(e as Error).message}`);
        }
      }
    }
    for (const rival of rivals.filter((r) => !failed.has(r.tool))) {
      if (s.pushTarget) {
        results.record(`${s.name} 5 layers to a local registry`, rival.tool, cold.get(rival.tool)!, s.pushTarget);
        results.record(`${s.name} again, every blob there`, rival.tool, warm.get(rival.tool)!, s.pushTarget);
        continue;
      }
      results.record(`${s.name} cold`, rival.tool, cold.get(rival.tool)!, s.target);
      if (s.edit) results.record(`${s.name} one file changed`, rival.tool, edited.get(rival.tool)!, s.edit.target);
      results.record(`${s.name} no-change rebuild`, rival.tool, warm.get(rival.tool)!, s.edit?.noChangeTarget);
      if (exported.get(rival.tool)!.length > 0) results.record(`${s.name} cold + export to tarball`, rival.tool, exported.get(rival.tool)!, s.exportTarget);
    }
    if (rss.length > 0) {
      const mb = (k: number) => `${(k / 1024).toFixed(0)} MB`;
      const worst = (j: number) => mb(Math.max(...rss.map((r) => r[j])));
      results.note(`${s.name}: tsbuild peak RSS (largest of ${rss.length} runs, target <= 150 MB): cold ${worst(0)}, one file changed ${worst(1)}, no-change ${worst(2)}`);
    }
  }
  // issue 11: a CI runner B from a registry cache (bench/ci-cache.ts: its own registry and runners)
  if (!only || only.includes('ci-cache')) await benchCiCache({ repo, bin, oracle, busyboxOciTar: busybox.ociTar, work, runs, warmups, tools: wantTools, results });
  for (const rival of rivals) results.note(`${rival.tool}: ${rival.setup}`);
} finally {
  for (const rival of rivals) {
    try {
      rival.close();
    } catch (e) {
      console.error(`bench: closing ${rival.tool}: ${(e as Error).message}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}

const bundle = freshBundle(repo);
console.log(`tsbuild bench, ${started.toISOString()}\nmachine at start: ${loadBefore}\nmachine at end:   ${machine()}\ntsbuild CLI: ${bundle ? `bundled (${relative(repo, bundle)})` : 'from its sources (no current bundle: npm run bundle)'}\n`);
console.log(`${formatTable(results, runs)}\n\n${formatTable(results, runs, 'min')}\n`);
for (const n of results.notes) console.log(`- ${n}`);
const out = join(repo, 'bench', 'results');
mkdirSync(out, { recursive: true });
const file = join(out, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ started, runs, machineAtStart: loadBefore, machineAtEnd: machine(), rows: [...results.rows.values()], notes: results.notes }, null, 2));
console.log(`\nall samples: ${file}`);
