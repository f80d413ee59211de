// `tsbuild build`'s limit flags as a user meets them: the OOM message instead of a bare 137, clear
// errors for bad values, defaults from tsbuild.toml, no cache miss for other limits, no cgroup left.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupPrefix, detectCgroups } from '../../worker/exec/cgroups.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const cgroupsLeft = () => {
  const prefix = cgroupPrefix(root);
  return detectCgroups().hierarchies.flatMap((h) => readdirSync(h).filter((n) => n.startsWith(prefix)));
};

test.serial('a RUN over --memory fails with "killed: out of memory (limit 256 MiB)", and no cgroup is left', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo start\nRUN x=0123456789abcdef; while true; do x="$x$x"; done\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--memory', '256m', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /ERROR: .*Dockerfile:3: .*did not complete successfully: killed: out of memory \(limit 256 MiB\)/);
    t.regex(r.stderr, /--memory/, 'the hint names the flag');
    t.notRegex(r.stderr, /exit code: 137/);
    t.notRegex(r.stderr, /^\s+at /m, 'no stack trace');
    t.deepEqual(cgroupsLeft(), []);
  } finally {
    removeDir(ctx);
  }
});

test.serial('a RUN over --pids-limit says it reached the process limit', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN for i in $(seq 1 30); do sleep 2 & done; wait\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--pids-limit', '10', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /reached its limit of 10 processes \(--pids-limit\)/);
    t.deepEqual(cgroupsLeft(), []);
  } finally {
    removeDir(ctx);
  }
});

test.serial('limits are not part of the cache key, and each RUN sees them', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN ulimit -n; df -k /dev/shm | tail -n 1; echo ok > /f\n' });
  try {
    const first = await runTsbuild(['build', '--progress', 'plain', '--ulimit', 'nofile=512:1024', '--shm-size', '32m', '--cpus', '1', ctx], { root });
    t.is(first.code, 0, first.stderr);
    t.regex(first.stderr, /#\d+ \d+\.\d+ 512\n/);
    t.regex(first.stderr, /#\d+ \d+\.\d+ shm\s+32768 /);
    const second = await runTsbuild(['build', '--progress', 'plain', '--ulimit', 'nofile=256', '--memory', '1g', ctx], { root });
    t.is(second.code, 0, second.stderr);
    t.regex(second.stderr, /\(0 steps ran, \d+ cached\)/);
    t.deepEqual(cgroupsLeft(), []);
  } finally {
    removeDir(ctx);
  }
});

test.serial('bad limit values are one clear line each', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN true\n' });
  try {
    for (const [args, message] of [
      [['--memory', 'lots'], 'invalid --memory "lots": expected a size such as 512m or 2g'],
      [['--ulimit', 'nofiles=10'], 'invalid --ulimit "nofiles=10": unknown limit "nofiles"'],
      [['--cpus', '1', '--cpu-quota', '5000'], '--cpus cannot be combined with --cpu-quota or --cpu-period'],
      [['--memory-swap', '1g'], '--memory-swap needs --memory'],
    ] as const) {
      const r = await runTsbuild(['build', '--progress', 'plain', ...args, ctx], { root });
      t.not(r.code, 0);
      t.true(r.stderr.includes(message), r.stderr);
      t.notRegex(r.stderr, /^\s+at /m);
    }
  } finally {
    removeDir(ctx);
  }
});

test.serial('defaults come from <root>/tsbuild.toml, and flags override them', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nARG N\nRUN echo $N; df -k /dev/shm | tail -n 1; ulimit -n\n' });
  const config = join(root, 'tsbuild.toml');
  try {
    writeFileSync(config, '[limits]\nshm-size = "48m"\nulimits = ["nofile=300"]\n');
    const fromFile = await runTsbuild(['build', '--progress', 'plain', '--build-arg', 'N=1', ctx], { root });
    t.is(fromFile.code, 0, fromFile.stderr);
    t.regex(fromFile.stderr, /shm\s+49152 /);
    t.regex(fromFile.stderr, /#\d+ \d+\.\d+ 300\n/);
    const overridden = await runTsbuild(['build', '--progress', 'plain', '--build-arg', 'N=2', '--shm-size', '16m', ctx], { root });
    t.is(overridden.code, 0, overridden.stderr);
    t.regex(overridden.stderr, /shm\s+16384 /);
    t.regex(overridden.stderr, /#\d+ \d+\.\d+ 300\n/);
    writeFileSync(config, '[limits]\nmemory = "lots"\n');
    const bad = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.not(bad.code, 0);
    t.true(bad.stderr.includes(`${config}: [limits]: invalid memory "lots"`), bad.stderr);
  } finally {
    rmSync(config, { force: true });
    removeDir(ctx);
  }
});

/** Starts a build whose RUN sleeps, and resolves once that RUN's cgroup exists. */
async function startSleepingBuild(ctx: string) {
  const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', '--memory', '64m', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const end = Date.now() + 20_000;
  while (cgroupsLeft().length === 0) {
    if (Date.now() > end) throw new Error(`the RUN did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exited, stderr: () => stderr };
}

test.serial('Ctrl-C during a RUN removes its cgroup', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo interrupted-run; sleep 60\n' });
  try {
    const b = await startSleepingBuild(ctx);
    b.child.kill('SIGINT');
    t.not(await b.exited, 0);
    t.deepEqual(cgroupsLeft(), []);
    t.notRegex(b.stderr(), /^\s+at /m);
  } finally {
    removeDir(ctx);
  }
});

test.serial('after a kill -9 during a RUN, the next start removes its cgroup (and the step it ran)', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo killed-run; sleep 60\n' });
  const other = contextDir({ Dockerfile: 'FROM busybox\n' });
  try {
    const b = await startSleepingBuild(ctx);
    b.child.kill('SIGKILL');
    await b.exited;
    // the runtime outlives a killed tsbuild: the step still runs in its cgroup
    t.true(cgroupsLeft().length > 0);
    const next = await runTsbuild(['build', '--progress', 'plain', other], { root });
    t.is(next.code, 0, next.stderr);
    t.deepEqual(cgroupsLeft(), []);
  } finally {
    removeDir(ctx);
    removeDir(other);
  }
});
