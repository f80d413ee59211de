// Resource limits with the real runtime and the host's real cgroups: each limit as the step itself
// sees it, the message a step stopped by a limit gets, and no cgroup left behind.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import type { ResourceLimits } from '../../src/limits/index.ts';
import { cgroupPrefix, detectCgroups, removeCgroups, removeRunCgroup, runCgroupPath } from '../../worker/exec/cgroups.ts';
import { run, withWorker, type TestWorker } from './_setup.ts';

/** This root's cgroups in any hierarchy, as `find /sys/fs/cgroup` would show them. */
const cgroupsOf = (root: string) => {
  const prefix = cgroupPrefix(root);
  return detectCgroups().hierarchies.flatMap((h) => readdirSync(h).filter((n) => n.startsWith(prefix)).map((n) => join(h, n)));
};

async function exec(w: TestWorker, script: string, limits: ResourceLimits): Promise<string> {
  const base = await w.busybox();
  w.logs.length = 0;
  await w.worker.run(run(script), [{ type: 'snapshot', id: base }], { ...w.ctx, limits });
  return w.logs.join('');
}

test('a step killed by the OOM killer says so, with the limit, and leaves no cgroup', (t) =>
  withWorker(async (w) => {
    // doubling a shell variable until the limit stops it
    const err = await t.throwsAsync(exec(w, 'x=0123456789abcdef; while true; do x="$x$x"; done', { memory: 48 * 1024 * 1024 }));
    t.true(isTsbuildError(err));
    if (!isTsbuildError(err)) return;
    t.is(err.code, 'RUN_LIMIT_REACHED');
    t.is(err.message, 'process "/bin/sh -c x=0123456789abcdef; while true; do x="$x$x"; done" did not complete successfully: killed: out of memory (limit 48 MiB)');
    t.regex(err.hint ?? '', /--memory/);
    t.deepEqual(cgroupsOf(w.root), []);
  }));

test('a step that hits the pids limit says so', (t) =>
  withWorker(async (w) => {
    const err = await t.throwsAsync(exec(w, 'for i in $(seq 1 40); do sleep 2 & done; wait', { pidsLimit: 16 }));
    t.true(isTsbuildError(err));
    if (!isTsbuildError(err)) return;
    t.is(err.code, 'RUN_LIMIT_REACHED');
    t.regex(err.message, /did not complete successfully: a new process could not start: the step reached its limit of 16 processes \(--pids-limit\)$/);
    t.regex(err.details.join('\n'), /can't fork/);
    t.deepEqual(cgroupsOf(w.root), []);
  }));

test('a failing step under a limit it did not reach is an ordinary exit code', (t) =>
  withWorker(async (w) => {
    const err = await t.throwsAsync(exec(w, 'exit 3', { memory: 64 * 1024 * 1024, pidsLimit: 16 }));
    t.true(isTsbuildError(err));
    if (!isTsbuildError(err)) return;
    t.is(err.code, 'RUN_FAILED');
    t.regex(err.message, /exit code: 3$/);
    t.deepEqual(cgroupsOf(w.root), []);
  }));

test('the step runs in its own cgroup of this root, which carries the limits and is gone afterwards', (t) =>
  withWorker(async (w) => {
    const layout = detectCgroups();
    const memory = layout.controllers.get('memory')!;
    const pids = layout.controllers.get('pids')!;
    // the container sees its own cgroup at /sys/fs/cgroup (v1: one dir per controller; v2: one dir)
    const file = (c: typeof memory, v1: string, v2: string) => (c.version === 1 ? `/sys/fs/cgroup/${v1}` : `/sys/fs/cgroup/${v2}`);
    const out = await exec(w, [
      'grep -E "(^|:)memory:|^0::" /proc/self/cgroup | tail -n 1',
      `cat ${file(memory, 'memory/memory.limit_in_bytes', 'memory.max')}`,
      `cat ${file(pids, 'pids/pids.max', 'pids.max')}`,
    ].join('; '), { memory: 96 * 1024 * 1024, pidsLimit: 50 });
    const [cgroup, mem, max] = out.trim().split('\n');
    t.true(cgroup.split(':')[2].startsWith(`/${cgroupPrefix(w.root)}`), cgroup);
    t.is(mem, String(96 * 1024 * 1024));
    t.is(max, '50');
    t.deepEqual(cgroupsOf(w.root), []);
  }));

test('--cpus becomes the step\'s CFS quota per period', (t) =>
  withWorker(async (w) => {
    const cpu = detectCgroups().controllers.get('cpu')!;
    const out = await exec(w, cpu.version === 1 ? 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us' : 'cat /sys/fs/cgroup/cpu.max', { cpus: 0.5 });
    t.is(out.trim().split(/\s+/).join(' '), '50000 100000');
  }));

test('--ulimit is what `ulimit` shows in the step, unlimited included', (t) =>
  withWorker(async (w) => {
    const out = await exec(w, 'ulimit -Sn; ulimit -Hn; ulimit -c', {
      ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }, { name: 'core', soft: -1, hard: -1 }],
    });
    t.deepEqual(out.trim().split('\n'), ['1024', '2048', 'unlimited']);
  }));

test('--shm-size is the size df shows for /dev/shm; docker\'s 64 MiB without it', (t) =>
  withWorker(async (w) => {
    const size = (text: string) => text.trim().split('\n')[1].split(/\s+/)[1];
    t.is(size(await exec(w, 'df -k /dev/shm', { shmSize: 128 * 1024 * 1024 })), '131072');
    t.is(size(await exec(w, 'df -k /dev/shm', {})), '65536');
  }));

test('start-up recovery kills and removes the cgroups a killed tsbuild left for its root, and no other root\'s', async (t) => {
  const layout = detectCgroups();
  const pids = layout.controllers.get('pids')!;
  // a cgroup with a live process, as a RUN whose runtime died before saving its state leaves it
  let ours = '';
  const other = join(pids.dir, `${cgroupPrefix('/nonexistent/other-root')}feed`);
  let sleeper: ReturnType<typeof spawn> | undefined;
  try {
    await withWorker(async (w) => {
      ours = join(pids.dir, `${cgroupPrefix(w.root)}dead`);
      mkdirSync(ours);
      mkdirSync(other);
      sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
      writeFileSync(join(ours, 'cgroup.procs'), String(sleeper.pid));
      const exited = new Promise((r) => sleeper!.once('exit', (_code, signal) => r(signal)));
      // a second worker on the root is the next start: the first is closed, so nothing live owns it
      await w.worker.close();
      // and the registration a killed tsbuild leaves behind (worker/recover.ts), a pid that is gone
      writeFileSync(join(w.root, 'workers', '2147483.killed'), '2147483 1');
      const { openWorker } = await import('../../worker/index.ts');
      const again = await openWorker({ root: w.root, db: w.db, content: w.content });
      await again.close();
      t.is(await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000, 'still running after 10 s'))]), 'SIGKILL');
      t.deepEqual(cgroupsOf(w.root), []);
      t.true(existsSync(other), 'the other root\'s cgroup is still there');
    });
  } finally {
    sleeper?.kill('SIGKILL');
    for (const dir of [ours, other]) {
      try {
        rmdirSync(dir);
      } catch {
        // removed by the test
      }
    }
  }
});

test('a step cgroup whose process is frozen is thawed, killed and removed from every hierarchy', async (t) => {
  // a runtime's `kill --all` (and crun's own end) freezes the cgroup while it signals; one stopped
  // before it thaws leaves processes that SIGKILL alone does not end, in every hierarchy
  const layout = detectCgroups();
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-frozen-'));
  const path = runCgroupPath(root, 'frozen');
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  const exited = new Promise((r) => sleeper.once('exit', (_code, signal) => r(signal)));
  try {
    for (const h of layout.hierarchies) {
      mkdirSync(join(h, path));
      // a v1 cpuset takes no process before it has cpus and memory nodes
      for (const f of ['cpuset.cpus', 'cpuset.mems']) if (existsSync(join(h, f)) && readFileSync(join(h, f), 'utf8').trim() !== '') writeFileSync(join(h, path, f), readFileSync(join(h, f), 'utf8'));
      writeFileSync(join(h, path, 'cgroup.procs'), String(sleeper.pid));
    }
    const freezer = layout.controllers.get('freezer');
    if (freezer?.version === 1) writeFileSync(join(freezer.dir, path, 'freezer.state'), 'FROZEN');
    else writeFileSync(join(layout.hierarchies.find((h) => existsSync(join(h, path, 'cgroup.freeze')))!, path, 'cgroup.freeze'), '1');
    await removeRunCgroup(layout, path);
    t.deepEqual(cgroupsOf(root), []);
    t.is(await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000, 'still running after 10 s'))]), 'SIGKILL');
  } finally {
    sleeper.kill('SIGKILL');
    for (const h of layout.hierarchies) {
      for (const f of ['freezer.state', 'cgroup.freeze']) if (existsSync(join(h, path, f))) writeFileSync(join(h, path, f), f === 'freezer.state' ? 'THAWED' : '0');
    }
    await removeCgroups(layout.hierarchies.map((h) => join(h, path)));
    rmdirSync(root);
  }
});

test('the layout is read from the mounts: v1, v2, or hybrid as both', (t) => {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const v1 = / - cgroup /.test(info);
  const v2 = / - cgroup2 /.test(info);
  t.is(detectCgroups().mode, v1 && v2 ? 'hybrid' : v2 ? 'v2' : 'v1');
});
