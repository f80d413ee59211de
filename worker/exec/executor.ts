// Runs one container from a bundle with the OCI runtime, streaming its output as progress events.
// The bundle's rootfs is already mounted; the caller owns it and its cleanup.
import { spawn, execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunContext } from '../types.ts';
import type { RuntimeSpec } from './spec.ts';
import type { CgroupEvents } from './cgroups.ts';
import { specJson } from './resources.ts';

const execFileP = promisify(execFile);
const tailLines = 10;

export interface RunResult {
  exitCode: number;
  /** The last lines of stdout and stderr interleaved, for the error message. */
  lastLines: string[];
  aborted: boolean;
  /** What the container's cgroup counted (OOM kills, refused forks), when `readEvents` was given. */
  events?: CgroupEvents;
}

export interface ExecutorOptions {
  runtime: string;
  /** The runtime's own state dir (`--root`), so ours never mixes with the host's containers. */
  stateDir: string;
  bundle: string;
  id: string;
  spec: RuntimeSpec;
  ctx: RunContext;
  /** Reads the container's cgroup after it exits and before it is deleted (the runtime runs with --keep). */
  readEvents?: () => CgroupEvents;
}

export async function runContainer(opts: ExecutorOptions): Promise<RunResult> {
  const { runtime, stateDir, bundle, id, ctx } = opts;
  await writeFile(join(bundle, 'config.json'), specJson(opts.spec));
  const tail = createTail();
  let aborted = false;
  // --keep: the container's cgroup stays until the `delete` below, so readEvents can still see why it died
  const child = spawn(runtime, ['--root', stateDir, 'run', '--keep', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  const onAbort = () => {
    aborted = true;
    execFileP(runtime, ['--root', stateDir, 'kill', id, 'KILL']).catch(() => child.kill('SIGKILL'));
  };
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (data: string) => {
      tail.push(data);
      ctx.progress.emit({ type: 'vertex.log', vertex: ctx.vertex, stream, data });
    });
  }
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    return { exitCode, lastLines: tail.lines(), aborted, events: opts.readEvents?.() };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    // `delete --force` kills what may still run and removes the runtime's state and cgroups
    await execFileP(runtime, ['--root', stateDir, 'delete', '--force', id]).catch(() => undefined);
  }
}

function createTail() {
  let buf = '';
  return {
    push(data: string) {
      buf = (buf + data).slice(-16384);
    },
    lines: () => buf.replace(/\n$/, '').split('\n').slice(-tailLines).filter((l, i, a) => l !== '' || a.length > 1),
  };
}
