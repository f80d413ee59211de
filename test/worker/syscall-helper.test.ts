// The syscall helper (worker/syscall-helper.ts): mounts and unmounts without mount(8), and the OCI
// runtime started through it with its output, exit code and end as child_process would give them.
import test from 'ava';
import { appendFileSync, chmodSync, copyFileSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountArgs, mountSyscall, umountInChildSyscall, umountSyscall } from '../../worker/syscall-helper.ts';
import { startRuntime } from '../../worker/exec/runtime-process.ts';
import { runtimesRunning } from '../../worker/running-runtimes.ts';
import type { OciRuntime } from '../../worker/exec/runtime.ts';

const mounted = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);

test('mount options become mount(2) flags and data; anything mount(8) must read is left to it', (t) => {
  t.deepEqual(mountArgs('overlay', ['lowerdir=/a:/b', 'upperdir=/u', 'workdir=/w', 'index=off', 'volatile', 'ro']), { flags: 1, data: 'lowerdir=/a:/b,upperdir=/u,workdir=/w,index=off,volatile' });
  t.deepEqual(mountArgs('tmpfs', ['nosuid', 'nodev', 'noexec', 'mode=0700', 'size=65536']), { flags: 2 | 4 | 8, data: 'mode=0700,size=65536' });
  t.is(mountArgs('tmpfs', ['bind']), undefined);
  t.is(mountArgs('ext4', ['ro']), undefined);
});

test('a tmpfs mounted through the helper is there, and gone after its unmount; a second unmount says EINVAL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-helper-'));
  try {
    t.is(await mountSyscall({ type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1048576'] }, dir), 0);
    t.true(mounted(dir));
    t.is(await umountSyscall(dir), 0);
    t.false(mounted(dir));
    t.is(await umountSyscall(dir), 22);
  } finally {
    await umountSyscall(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unmounts made by children of the helper, two at once: both gone, and the errno of one that fails is its exit code', async (t) => {
  const dirs = [mkdtempSync(join(tmpdir(), 'tsbuild-helper-')), mkdtempSync(join(tmpdir(), 'tsbuild-helper-'))];
  try {
    for (const dir of dirs) t.is(await mountSyscall({ type: 'tmpfs', source: 'tmpfs', options: ['size=1048576'] }, dir), 0);
    t.deepEqual(await Promise.all(dirs.map((d) => umountInChildSyscall(d))), [0, 0]);
    t.deepEqual(dirs.map(mounted), [false, false]);
    t.is(await umountInChildSyscall(dirs[0]), 22);
    t.is(await umountInChildSyscall(join(dirs[0], 'missing')), 2);
  } finally {
    for (const dir of dirs) {
      await umountSyscall(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

// a stand-in for the runtime: sh with the script as its "runtime arguments"
const shell: OciRuntime = {
  name: 'sh', keeps: false, copiesSpec: false,
  command: (args) => ({ file: 'sh', args: ['-c', ...args] }),
  helperCommand: (args) => ({ file: 'sh', argv: ['sh', '-c', ...args] }),
};

async function runShell(script: string, dir: string): Promise<{ code: number; out: string; err: string }> {
  const p = await startRuntime(shell, [script], dir);
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c));
  p.stderr.on('data', (c: Buffer) => (err += c));
  return { code: await p.closed, out, err };
}

test('a process started through the helper: its stdout, stderr and exit code, also when it ends at once', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsbuild-helper-'));
  try {
    const dir = (n: number) => {
      const d = mkdtempSync(join(base, `${n}-`));
      return d;
    };
    t.deepEqual(await runShell('echo out; echo err >&2; exit 7', dir(0)), { code: 7, out: 'out\n', err: 'err\n' });
    // many that end before their output is read: none may lose its output or never end
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => runShell(`echo ${i}`, dir(i + 1))));
    t.deepEqual(many.map((r) => r.out), Array.from({ length: 40 }, (_, i) => `${i}\n`));
    t.true(many.every((r) => r.code === 0));
    // more than a pipe's buffer, written before anything is read
    const big = await runShell('head -c 300000 /dev/zero | tr "\\0" x', dir(99));
    t.is(big.out.length, 300000);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test.serial('a runtime counts as running from its start to its end (serial: the count is the process\'s)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-helper-'));
  try {
    const before = runtimesRunning();
    const p = await startRuntime(shell, ['sleep 30'], dir);
    t.is(runtimesRunning(), before + 1);
    p.kill();
    t.is(await p.closed, 128);
    t.is(runtimesRunning(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kill() ends a process started through the helper, as SIGKILL: 128', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-helper-'));
  try {
    const p = await startRuntime(shell, ['exec sleep 30'], dir);
    p.stdout.resume();
    p.stderr.resume();
    const started = Date.now();
    setTimeout(() => p.kill(), 100);
    t.is(await p.closed, 128);
    t.true(Date.now() - started < 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sealed binary runs from a read-only bind of itself, with crun\'s variable set; the host keeps it writable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-helper-'));
  try {
    // a copy of sh stands in for the runtime; a write to a running binary says ETXTBSY before the
    // mount's read-only, so the child reads its mount's options
    const bin = join(dir, 'runtime-sh');
    copyFileSync(realpathSync('/bin/sh'), bin);
    chmodSync(bin, 0o755);
    const sealed: OciRuntime = { ...shell, helperCommand: (args) => ({ file: bin, argv: ['sh', '-c', ...args], sealBinary: bin }) };
    const p = await startRuntime(sealed, [`echo "$_LIBCONTAINER_CLONED_BINARY"; awk '$5 == "${bin}" { split($6, o, ","); print o[1] }' /proc/self/mountinfo`], dir);
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c));
    p.stderr.on('data', (c: Buffer) => (err += c));
    t.is(await p.closed, 0);
    t.is(out, '1\nro\n', err);
    // the bind was the child's own: the host's file is untouched and still writable
    t.false(mounted(bin));
    t.is(statSync(bin).size, statSync(realpathSync('/bin/sh')).size);
    appendFileSync(bin, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
