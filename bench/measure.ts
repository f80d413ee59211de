// Timing, running commands and the results table of the bench. No tool-specific code here.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export type Tool = 'tsbuild' | 'buildkit' | 'buildah';
export const toolNames: readonly Tool[] = ['tsbuild', 'buildkit', 'buildah'];

/** Wall-clock milliseconds `fn` takes. */
export function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs a command to completion; returns its stdout, or throws with the tail of its output. */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${tail}`);
  }
  return r.stdout;
}

/** True when `cmd args` runs and exits 0 (a probe: is the tool there?). */
export function works(cmd: string, args: readonly string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface ScenarioResult {
  scenario: string;
  target?: string; // the goal, e.g. "tsbuild <= 0.5x BuildKit"
  samples: Partial<Record<Tool, number[]>>;
}

export function createResults() {
  const rows = new Map<string, ScenarioResult>();
  const notes: string[] = [];
  return {
    rows,
    notes,
    record(scenario: string, tool: Tool, samples: number[], target?: string): void {
      const row = rows.get(scenario) ?? { scenario, samples: {} };
      if (target) row.target = target;
      row.samples[tool] = samples;
      rows.set(scenario, row);
    },
    note(line: string): void {
      notes.push(line);
      console.error(`bench: ${line}`);
    },
  };
}
export type Results = ReturnType<typeof createResults>;

/** The machine and its load, printed with every table: figures from a busy machine say so. */
export function machine(): string {
  const cpu = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, load average ${load}`;
}

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(3)}s`);
/** tsbuild's time over the rival's: below 1 means tsbuild is faster (0.5x = half the time). */
const ratio = (ours: number | undefined, theirs: number | undefined) => (ours === undefined || theirs === undefined ? '-' : `${(ours / theirs).toFixed(2)}x`);

/**
 * The table as Markdown, ready to paste into bench/README.md: medians, or with `stat: 'min'` the
 * fastest run of each (on a machine shared with other work, the minimum is the steadier figure).
 */
export function formatTable(results: Results, runs: number, stat: 'median' | 'min' = 'median'): string {
  const lines = [
    `${stat} of ${runs} runs (cli: 5); ratio = tsbuild's time / the rival's (below 1: tsbuild is faster)`,
    '',
    '| scenario | tsbuild | BuildKit | Buildah | tsbuild/BuildKit | tsbuild/Buildah | target |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of results.rows.values()) {
    const m = (t: Tool) => (row.samples[t] ? (stat === 'min' ? Math.min(...row.samples[t]) : median(row.samples[t])) : undefined);
    const [ts, bk, bh] = [m('tsbuild'), m('buildkit'), m('buildah')];
    lines.push(`| ${row.scenario} | ${fmt(ts)} | ${fmt(bk)} | ${fmt(bh)} | ${ratio(ts, bk)} | ${ratio(ts, bh)} | ${row.target ?? ''} |`);
  }
  return lines.join('\n');
}
