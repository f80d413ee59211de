// Which OCI runtime runs a step (worker/exec/runtime.ts): crun where it runs, through a mount
// namespace without the v2 mount on a hybrid host, runc for steps read after they exit.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crunNeedsOwnMountNamespace, crunUnifiedMount, crunWithoutUnified, directRuntime, probeRuntimes } from '../../worker/exec/runtime.ts';
import { detectCgroups, parseCgroupLayout } from '../../worker/exec/cgroups.ts';

const installed = (cmd: string) => {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const mountinfo = (lines: string[]) => lines.map((l, i) => `${30 + i} 1 0:${i} / ${l}`).join('\n');
const hybrid = parseCgroupLayout(mountinfo([
  '/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  `${crunUnifiedMount} rw - cgroup2 cgroup2 rw`,
]), () => undefined);
const v2 = parseCgroupLayout(mountinfo(['/sys/fs/cgroup rw - cgroup2 cgroup2 rw']), (p) => (p.endsWith('cgroup.controllers') ? 'memory pids' : undefined));

test('crun needs a mount namespace without the v2 mount on a hybrid host only', (t) => {
  t.is(hybrid.mode, 'hybrid');
  t.true(crunNeedsOwnMountNamespace(hybrid));
  t.false(crunNeedsOwnMountNamespace(v2));
});

test('runc keeps a finished container (run --keep), crun does not; the wrapped crun unmounts the v2 mount, then becomes crun', (t) => {
  t.true(directRuntime('runc').keeps);
  t.false(directRuntime('/usr/bin/crun').keeps);
  t.deepEqual(directRuntime('runc').command(['--root', '/r', 'run', 'x']), { file: 'runc', args: ['--root', '/r', 'run', 'x'] });
  const wrapped = crunWithoutUnified().command(['--root', '/r', 'run', 'x']);
  t.is(wrapped.file, 'unshare');
  t.deepEqual(wrapped.args.slice(-5), ['crun', '--root', '/r', 'run', 'x']);
  t.true(wrapped.args.includes(`umount -l ${crunUnifiedMount} && exec "$0" "$@"`));
});

test('on this host: crun runs the steps when installed (wrapped where the cgroups are hybrid), runc those it must keep', async (t) => {
  const rts = await probeRuntimes();
  if (!installed('crun')) {
    t.is(rts.run.name, 'runc');
    t.log('crun is not installed: runc runs every step');
    return;
  }
  t.is(rts.run.name, 'crun');
  t.is(rts.keeping.name, installed('runc') ? 'runc' : 'crun');
  t.is(rts.run.command([]).file, crunNeedsOwnMountNamespace(detectCgroups()) ? 'unshare' : 'crun');
  // the wrapped command really starts crun, and the host keeps its v2 mount
  const { file, args } = rts.run.command(['--version']);
  t.regex(execFileSync(file, args, { encoding: 'utf8' }), /^crun version/);
  const before = detectCgroups().hierarchies;
  execFileSync(file, args);
  t.deepEqual(detectCgroups().hierarchies, before, 'the host keeps every cgroup mount');
});

test('a runtime that is asked for by name is used for every step', async (t) => {
  const rts = await probeRuntimes('runc');
  t.is(rts.run.name, 'runc');
  t.is(rts.keeping.name, 'runc');
  await t.throwsAsync(probeRuntimes('no-such-runtime'), { message: 'OCI runtime "no-such-runtime" cannot be run' });
});

test.serial('without crun on PATH, runc runs every step; with neither, the error says what to install', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-path-'));
  const path = process.env.PATH;
  t.teardown(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });
  symlinkSync('/usr/bin/unshare', join(dir, 'unshare'));
  process.env.PATH = dir;
  await t.throwsAsync(probeRuntimes(), { message: 'no OCI runtime found: neither crun nor runc is installed' });
  symlinkSync(execFileSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8', env: { PATH: path } }).trim(), join(dir, 'runc'));
  const rts = await probeRuntimes();
  t.is(rts.run.name, 'runc');
  t.is(rts.keeping.name, 'runc');
});
