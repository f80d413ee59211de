// Cancelling a build (issue 6 "Steps and their logs", issue 7 item 7): a signal mid-RUN or mid-export
// stops tsbuild within seconds with one line, and leaves nothing: no mount under the root, no runc
// container, no process of the step, no cgroup, no partial output or ingest file. A kill -9 leaves
// files only the next start removes.
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, constants } from 'node:os';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { runtimeStateDirs } from '../../worker/exec/runtime-state-dir.ts';

const root = tempDir('tsbuild-cancel-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

/** A Node older than 24 on PATH runs bin/tsbuild.js through its hand-over to Node 24. */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const node = join(dir, 'node');
    if (!existsSync(node)) continue;
    try {
      const major = Number(execFileSync(node, ['--version'], { encoding: 'utf8' }).replace(/^v/, '').split('.')[0]);
      if (major < 24) return node;
    } catch {
      // not runnable: look further
    }
  }
  return undefined;
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `group`: in a process group of its own, as a shell runs a foreground job, so a Ctrl-C can be sent to all of it. */
function startBuild(node: string, args: string[], opts: { group?: boolean } = {}): Running {
  const child = spawn(node, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: opts.group === true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { child, stderr: () => stderr, closed };
}

async function waitFor(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// the runtime's state dirs hold one dir per container, runc's and crun's alike (worker/exec/runtime-state-dir.ts)
const containers = () => runtimeStateDirs(root).flatMap((d) => (existsSync(d) ? readdirSync(d) : []));
const mountsUnderRoot = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(` ${root}/`));
const processes = (pattern: string) => {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
/** cgroup dirs named after the container's key, in any hierarchy (v1 or v2). */
const cgroupsOf = (key: string) => execFileSync('sh', ['-c', `find /sys/fs/cgroup -maxdepth 5 -type d -name '*${key}*' 2>/dev/null || true`], { encoding: 'utf8' }).split('\n').filter(Boolean);
const ingest = () => readdirSync(join(root, 'content', 'ingest'));

/** `ctrlC`: the signal goes to the build's whole process group, as a terminal sends it. */
async function cancelMidRun(t: import('ava').ExecutionContext, node: string, signal: NodeJS.Signals, seconds: number, opts: { ctrlC?: boolean } = {}): Promise<void> {
  // a sleep no other test on the machine runs, so pgrep finds only ours
  const ctx = contextDir({ Dockerfile: `FROM busybox\nRUN sleep ${seconds}\n` });
  try {
    const build = startBuild(node, ['--no-cache', ctx], { group: opts.ctrlC });
    await waitFor('the RUN container', () => containers().length > 0 && processes(`^sleep ${seconds}$`).length > 0);
    const [id] = containers();
    const key = id.replace(/^tsbuild-/, '');
    const sent = Date.now();
    if (opts.ctrlC) process.kill(-build.child.pid!, signal);
    else build.child.kill(signal);
    // the step sleeps for most of an hour: ending at all shows the signal stopped it (a bound in
    // seconds is only a measure of the machine's load)
    const { code, at } = await build.closed;
    t.log(`stopped ${at - sent} ms after ${signal}`);
    t.is(code, 128 + constants.signals[signal], build.stderr());
    t.regex(build.stderr(), new RegExp(`^ERROR: build cancelled \\(${signal}\\)$`, 'm'));
    if (opts.ctrlC) t.notRegex(build.stderr(), /still cleaning up/, 'the launcher\'s copy of the Ctrl-C is not taken for a second one');
    t.deepEqual(mountsUnderRoot(), [], 'no mount under the root');
    t.deepEqual(containers(), [], 'no runc container');
    t.deepEqual(processes(`^sleep ${seconds}$`), [], 'no sleep left under PID 1');
    t.deepEqual(cgroupsOf(key), [], 'no cgroup of the container');
    t.deepEqual(readdirSync(join(root, 'tmp')), [], 'no bundle or temp dir');
  } finally {
    removeDir(ctx);
  }
}

const older = olderNode();

test.serial('SIGTERM through the Node 20 → 24 launcher mid-RUN stops it and leaves nothing, 5 times in a row (issue 6)', async (t) => {
  if (!older) return t.pass('no Node older than 24 on PATH: the launcher hand-over is not exercised here');
  for (let i = 0; i < 5; i++) await cancelMidRun(t, older, 'SIGTERM', 3001 + i);
});

test.serial('Ctrl-C (SIGINT to the whole process group) through the launcher, which passes it on too, stops it and leaves nothing, 3 times', async (t) => {
  if (!older) return t.pass('no Node older than 24 on PATH: the launcher hand-over is not exercised here');
  for (let i = 0; i < 3; i++) await cancelMidRun(t, older, 'SIGINT', 3041 + i, { ctrlC: true });
});

test.serial('SIGTERM, SIGINT and SIGHUP straight to Node 24 mid-RUN stop it and leave nothing', async (t) => {
  await cancelMidRun(t, process.execPath, 'SIGTERM', 3011);
  await cancelMidRun(t, process.execPath, 'SIGINT', 3012);
  // a closed terminal: Node's default would end tsbuild at once and orphan the container
  await cancelMidRun(t, process.execPath, 'SIGHUP', 3013);
});

test.serial('a second signal while cleaning up (the terminal\'s SIGHUP, then a supervisor\'s SIGTERM) does not cut the cleanup short', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN sleep 3021\n' });
  try {
    const build = startBuild(process.execPath, ['--no-cache', ctx]);
    await waitFor('the RUN container', () => containers().length > 0 && processes('^sleep 3021$').length > 0);
    // sent back to back, so the second comes before the cleanup can have ended. Which one tsbuild
    // handles first is the kernel's choice (two pending at once go lowest number first, but each
    // may go to another thread of the process, whose handlers then race): seen both ways under
    // load. The first one handled gives the exit code; the second must only be reported
    build.child.kill('SIGHUP');
    build.child.kill('SIGTERM');
    const { code } = await build.closed;
    t.true(code === 129 || code === 143, `exit ${code}: ${build.stderr()}`);
    t.regex(build.stderr(), new RegExp(`${code === 129 ? 'SIGTERM' : 'SIGHUP'}: still cleaning up`));
    t.deepEqual(mountsUnderRoot(), []);
    t.deepEqual(containers(), []);
    t.deepEqual(processes('^sleep 3021$'), []);
  } finally {
    removeDir(ctx);
  }
});

test.serial('kill -9 of the Node 20 launcher mid-RUN: the Node 24 build it started cancels itself instead of running on as an orphan', async (t) => {
  if (!older) return t.pass('no Node older than 24 on PATH: the launcher hand-over is not exercised here');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN sleep 3031\n' });
  try {
    const build = startBuild(older, ['--no-cache', ctx]);
    await waitFor('the RUN container', () => containers().length > 0 && processes('^sleep 3031$').length > 0);
    build.child.kill('SIGKILL');
    await build.closed;
    await waitFor('the orphaned build to stop', () => processes(`${tsbuildBin}.*${ctx}`).length === 0, 8_000);
    t.deepEqual(processes('^sleep 3031$'), []);
    t.deepEqual(containers(), []);
    t.deepEqual(mountsUnderRoot(), []);
  } finally {
    removeDir(ctx);
  }
});

// 100 MB that gzip cannot shrink: tarring and compressing it takes seconds, the window to cancel in
const bigLayer = 'FROM busybox\nRUN head -c 100000000 /dev/urandom > /big\n';

test.serial('SIGTERM while exporting a big layer to -o type=oci stops at once, non-zero, with no partial output or ingest file (issue 7 item 7)', async (t) => {
  const ctx = contextDir({ Dockerfile: bigLayer });
  const outDir = tempDir('tsbuild-out-');
  try {
    const build = startBuild(process.execPath, ['--no-cache', '-o', `type=oci,dest=${join(outDir, 'image.tar')}`, ctx]);
    await waitFor('the export', () => build.stderr().includes('exporting to image'), 60_000);
    await waitFor('the layer being written', () => ingest().length > 0, 10_000);
    const sent = Date.now();
    build.child.kill('SIGTERM');
    const { code, at } = await build.closed;
    t.log(`stopped ${at - sent} ms after SIGTERM`);
    t.is(code, 143, build.stderr());
    // stopped at once, not after the export: the export step never finished
    const exportStep = /^#(\d+) exporting to image$/m.exec(build.stderr())?.[1];
    t.truthy(exportStep, build.stderr());
    t.notRegex(build.stderr(), new RegExp(`^#${exportStep} DONE`, 'm'));
    t.regex(build.stderr(), /^ERROR: build cancelled \(SIGTERM\)$/m);
    t.deepEqual(readdirSync(outDir), [], 'no image.tar and no temp file beside it');
    t.deepEqual(ingest(), [], 'no partial blob');
    t.deepEqual(mountsUnderRoot(), []);
  } finally {
    removeDir(ctx);
    removeDir(outDir);
  }
});

test.serial('after a kill -9 during export, the next build removes the partial blob from content/ingest (issue 7 item 7)', async (t) => {
  const ctx = contextDir({ Dockerfile: bigLayer });
  const outDir = tempDir('tsbuild-out-');
  try {
    const build = startBuild(process.execPath, ['--no-cache', '-o', `type=oci,dest=${join(outDir, 'image.tar')}`, ctx]);
    await waitFor('the layer being written', () => ingest().length > 0, 60_000);
    build.child.kill('SIGKILL');
    await build.closed;
    const left = ingest();
    // an output leaving the machine stores a layer's tar and its gzip in one pass (one or both partial),
    // for as many layers at once as compression runs (the CPU count): the base's layers are compressed
    // too, so a kill can find busybox's and the big layer's under way (3 seen on a loaded machine)
    t.true(left.length >= 1 && left.length <= 2 * availableParallelism(), `the killed build left its partial blobs: ${left.join(', ')}`);
    const small = contextDir({ Dockerfile: 'FROM busybox\nRUN true\n' });
    const next = await runTsbuild(['build', '--progress', 'plain', small], { root });
    removeDir(small);
    t.is(next.code, 0, next.stderr);
    t.deepEqual(ingest(), [], `${left.join(', ')} removed at start-up`);
  } finally {
    removeDir(ctx);
    removeDir(outDir);
  }
});
