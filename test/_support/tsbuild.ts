// Runs the real `tsbuild` bin the way a user does, in throwaway state roots and contexts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shebangNodeFlags } from '../../cli/bin-flags.ts';
import { cgroupPrefix, detectCgroups } from '../../worker/exec/cgroups.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const tsbuildBin = join(repoRoot, 'bin', 'tsbuild.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** tsbuild's CLI as a user runs it; `input` is written to its stdin (else stdin is closed). */
export function runTsbuild(args: string[], opts: { root?: string; cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  const full = opts.root ? ['--root', opts.root, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...shebangNodeFlags(tsbuildBin), tsbuildBin, ...full], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    // a process still there after timeoutMs is killed and answers as `timeout` has it: code 124
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), opts.timeoutMs);
    child.on('exit', () => clearTimeout(timer));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr }));
  });
}

/** A fresh directory, removed by the returned cleanup. */
export function tempDir(prefix = 'tsbuild-test-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** Writes `files` (path → content) under a new directory and returns it: a build context to read like its situation. */
export function contextDir(files: Record<string, string | { content: string; mode: number }>): string {
  const dir = tempDir('tsbuild-ctx-');
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof spec === 'string') writeFileSync(full, spec);
    else writeFileSync(full, spec.content, { mode: spec.mode });
  }
  return dir;
}

/**
 * Removes `dir`. A state root a killed tsbuild left (its registration in workers/, a cgroup of its
 * steps) gets one more start first, whose recovery removes what lives outside it: the cgroups, the
 * network namespaces, a runtime still running its step. Without it a test that kills a build and
 * then removes its root leaves them on the machine, where no later start on that root finds them.
 */
export function removeDir(dir: string): void {
  const left = killedTsbuildLeftovers(dir);
  if (left.length > 0) {
    const r = spawnSync(process.execPath, [...shebangNodeFlags(tsbuildBin), tsbuildBin, '--root', dir, 'images'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) process.stderr.write(`removing ${dir}: the start that removes a killed tsbuild's leftovers (${left.join(', ')}) failed: ${r.stderr || r.error?.message}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** What a killed tsbuild left of a state root: its registration, its steps' cgroups. Empty for other dirs. */
export function killedTsbuildLeftovers(root: string): string[] {
  if (!existsSync(join(root, 'metadata.db'))) return [];
  const workers = readdirQuiet(join(root, 'workers')).filter((n) => !n.startsWith('.'));
  const prefix = cgroupPrefix(root);
  const cgroups = detectCgroups().hierarchies.flatMap((h) => readdirQuiet(h).filter((n) => n.startsWith(prefix)).map((n) => join(h, n)));
  return [...workers.map((w) => `registration ${w}`), ...cgroups.map((c) => `cgroup ${c}`)];
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The directory holding Debian's static busybox, the busybox fixture's named context. */
export const busyboxBinDir = '/usr/bin';

/** Builds the busybox fixture into `root`'s store as `busybox` (the base most tests use). */
export async function buildBusybox(root: string): Promise<void> {
  const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox-bin=${busyboxBinDir}`, '-t', 'busybox', join(repoRoot, 'fixtures', 'busybox')], { root });
  if (r.code !== 0) throw new Error(`building the busybox fixture failed:\n${r.stderr}`);
}
