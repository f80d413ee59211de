// Hostile inputs to the syscall helper (worker/syscall-helper.ts): odd bytes in paths and
// arguments must not change the request framing or land a mount elsewhere, requests at once must
// each get their own reply, and a helper killed during a build must end that build with a clear
// error at once, leaving nothing mounted and no container running.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shebangNodeFlags } from '../../cli/bin-flags.ts';
import { startRuntime } from '../../worker/exec/runtime-process.ts';
import type { OciRuntime } from '../../worker/exec/runtime.ts';
import { mkfifos, mountSyscall, umountSyscall } from '../../worker/syscall-helper.ts';
import { buildBusybox, contextDir, removeDir, repoRoot, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

// mountinfo's mount points, with its octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) undone
function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'latin1').split('\n').filter(Boolean)
    .map((l) => Buffer.from(l.split(' ')[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), 'latin1').toString('utf8'));
}

// a failed assertion leaves its mount: detached before the dir goes
async function cleanup(base: string): Promise<void> {
  for (const m of mountPoints().filter((p) => p.startsWith(base)).reverse()) await umountSyscall(m, 2);
  rmSync(base, { recursive: true, force: true });
}

const tmpfs = { type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=65536'] };

test('paths with newlines, tabs, spaces, backslashes, `..`, non-ASCII and 255-byte names are mounted exactly there', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsbuild-hostile-helper-'));
  t.teardown(() => cleanup(base));
  const names = ['a\nb', 'tab\there', 'with space', 'back\\slash', 'ümlaut-日本', 'x'.repeat(255), '-o', 'ready', '0', 'exit\t1\t0\t0', '\n'];
  for (const name of names) {
    const dir = join(base, name);
    mkdirSync(dir);
    t.is(await mountSyscall(tmpfs, dir), 0, JSON.stringify(name));
    t.deepEqual(mountPoints().filter((m) => m.startsWith(base)), [dir], `${JSON.stringify(name)}: mounted there, nowhere else`);
    t.is(await umountSyscall(dir), 0);
    t.false(mountPoints().includes(dir));
  }
  // `..` is the kernel's to resolve, as for mount(8): the mount lands on the dir it names
  mkdirSync(join(base, 'up'));
  t.is(await mountSyscall(tmpfs, `${base}/up/../up`), 0);
  t.true(mountPoints().includes(join(base, 'up')));
  t.is(await umountSyscall(join(base, 'up')), 0);
  // too long for the kernel: its errno, and the helper still answers
  t.is(await mountSyscall(tmpfs, join(base, 'y'.repeat(300))), 36); // ENAMETOOLONG
  t.is(await umountSyscall(join(base, 'nothing-here')), 2); // ENOENT
});

test('a NUL in a path is refused, not cut there: nothing is mounted on the part before it', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsbuild-hostile-helper-'));
  t.teardown(() => cleanup(base));
  const e = await t.throwsAsync(mountSyscall(tmpfs, `${base}\0/elsewhere`));
  t.regex(e.message, /NUL byte/);
  t.false(mountPoints().some((m) => m.startsWith(base)));
  await t.throwsAsync(umountSyscall(`/\0x`), { message: /NUL byte/ });
  await t.throwsAsync(mkfifos([join(base, 'f\0g')]), { message: /NUL byte/ });
  // and the helper still serves the next request
  t.is(await mountSyscall(tmpfs, base), 0);
  t.is(await umountSyscall(base), 0);
});

const shell: OciRuntime = {
  name: 'sh', keeps: false, copiesSpec: false,
  command: (args) => ({ file: 'sh', args: ['-c', ...args] }),
  helperCommand: (args) => ({ file: 'sh', argv: ['sh', '-c', ...args] }),
};

test('200 requests at once, mounts, unmounts and spawns with odd arguments, each get their own reply', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsbuild-hostile-helper-'));
  t.teardown(() => cleanup(base));
  const mounts = Array.from({ length: 150 }, async (_, i) => {
    const dir = join(base, `m${i}\n\t `);
    mkdirSync(dir);
    // every third one fails (a missing dir): its ENOENT must not be taken for another's reply
    const target = i % 3 === 0 ? join(base, `missing-${i}`) : dir;
    const errno = await mountSyscall(tmpfs, target);
    const gone = errno === 0 ? await umountSyscall(target) : undefined;
    return [i % 3 === 0 ? errno === 2 : errno === 0 && gone === 0, i] as const;
  });
  const spawns = Array.from({ length: 50 }, async (_, i) => {
    const dir = mkdtempSync(join(base, 's-'));
    // the argument itself holds newlines and tabs: it must reach the program whole
    const arg = `line1\nline2\t${i}\\n`;
    const p = await startRuntime(shell, ['printf "%s|" "$0"; exit $1', arg, String(i % 5)], dir);
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c));
    p.stderr.resume();
    const code = await p.closed;
    return [out === `${arg}|` && code === i % 5, i] as const;
  });
  const results = await Promise.all([...mounts, ...spawns]);
  t.deepEqual(results.filter(([ok]) => !ok).map(([, i]) => i), []);
  t.false(mountPoints().some((m) => m.startsWith(base)));
});

test('the helper killed while a RUN runs: the build fails at once saying so, nothing stays mounted or running', async (t) => {
  const root = tempDir();
  // a sleep no other process on the machine runs
  const sleep = `sleep 59.${process.pid}`;
  const ctx = contextDir({ Dockerfile: `FROM busybox\nRUN echo started; ${sleep}; echo finished\n` });
  t.teardown(() => {
    removeDir(root);
    removeDir(ctx);
  });
  await buildBusybox(root);
  const child = spawn(process.execPath, [...shebangNodeFlags(tsbuildBin), tsbuildBin, '--root', root, 'build', '--progress', 'plain', ctx], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // the step runs once its output is there; then the helper (perl, tsbuild's child) is killed
  const deadline = Date.now() + 30_000;
  while (!/ started\n/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.regex(stderr, / started\n/);
  // its output comes just before the sleep starts
  while (sleeping(sleep).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.not(sleeping(sleep).length, 0, 'the step runs');
  const helperPid = execFileSync('pgrep', ['-P', String(child.pid), '-x', 'perl'], { encoding: 'utf8' }).trim();
  t.regex(helperPid, /^\d+$/);
  const killedAt = Date.now();
  process.kill(Number(helperPid), 'SIGKILL');
  const code = await exited;
  t.true(Date.now() - killedAt < 10_000, 'the build did not wait for the step to end');
  t.is(code, 1);
  t.regex(stderr, /ERROR: Dockerfile:2: .*the syscall helper that started (crun|runc) \(pid \d+\) ended while the step ran: its exit status is lost/);
  t.notRegex(stderr, /exit code: 1|^#\d+ [\d.]+ finished$/m);
  t.notRegex(stderr, /internal error|This is a bug|^\s+at /m);
  t.false(mountPoints().some((m) => m.startsWith(root)), 'nothing left mounted under the root');
  t.deepEqual(sleeping(sleep), [], 'the step\'s container was stopped');
});

// the pids running exactly `command`
function sleeping(command: string): string[] {
  try {
    return execFileSync('pgrep', ['-x', '-f', command], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
