// A build or a save writing an archive to stdout when stdout fails under it: a reader that goes
// away (`| head -c 10`) ends it quietly with 141, as SIGPIPE ends a Unix tool; a full disk
// (`> /dev/full`) is one line, `ERROR: cannot write to stdout: ENOSPC …`, and exit 1. Either way
// what the command made goes first: the build's mounts (one stayed until the next command) and
// save's temp file (left in $TMPDIR each time), and never a stack trace.
import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, killedTsbuildLeftovers, removeDir, repoRoot, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { shebangNodeFlags } from '../../cli/bin-flags.ts';

const work = tempDir('tsbuild-stdout-fail-');
const root = join(work, 'root');
// $TMPDIR of the commands, to see what they leave there
const tmp = join(work, 'tmp');

test.before(async () => {
  await buildBusybox(root);
  mkdirSync(tmp);
});
test.after.always(() => removeDir(work));

const mountsOf = (dir: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));

/** Runs tsbuild with stdout `to`: 'full' (/dev/full) or a pipe read for `readBytes` and then closed. */
function run(args: string[], to: { full: true } | { readBytes: number }): Promise<{ code: number | null; stderr: string }> {
  const full = 'full' in to ? openSync('/dev/full', 'w') : undefined;
  const child = spawn(process.execPath, [...shebangNodeFlags(tsbuildBin), tsbuildBin, '--root', root, ...args], { cwd: repoRoot, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', full ?? 'pipe', 'pipe'] });
  if (full !== undefined) closeSync(full);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  if (!('full' in to)) {
    let got = 0;
    child.stdout!.on('data', (d: Buffer) => {
      got += d.length;
      // the reader goes away, as `head -c` does once it has its bytes
      if (got >= to.readBytes) child.stdout!.destroy();
    });
  }
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

const hello = join(repoRoot, 'fixtures', 'hello');

test.serial('build -o - whose reader goes away: exit 141, quietly, nothing left mounted', async (t) => {
  const r = await run(['build', '-q', '--no-cache', '-o', '-', hello], { readBytes: 10 });
  t.is(r.code, 141, r.stderr);
  t.notRegex(r.stderr, /ERROR|EPIPE|^\s+at /m);
  t.deepEqual(mountsOf(root), []);
  t.deepEqual(killedTsbuildLeftovers(root), []);
});

test.serial('build -q whose id cannot be printed fails, never exit 0 with the id lost', async (t) => {
  // the id is written after the build: it exited 0 with nothing said
  const full = await run(['build', '-q', hello], { full: true });
  t.is(full.code, 1, full.stderr);
  t.regex(full.stderr, /^ERROR: cannot write to stdout: ENOSPC/m);
});

for (const args of [['build', '-q', '-o', '-', hello], ['build', '-q', '-o', 'type=oci,dest=-', hello], ['save', 'busybox'], ['images']]) {
  test.serial(`${args.slice(0, 4).join(' ')} > /dev/full: one ERROR line, exit 1, nothing left behind`, async (t) => {
    const r = await run(args, { full: true });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /^ERROR: cannot write to stdout: ENOSPC: no space left on device$/m);
    t.notRegex(r.stderr, /^\s+at |Node\.js v|internal error/m, r.stderr);
    t.deepEqual(mountsOf(root), []);
    t.deepEqual(readdirSync(tmp), []);
  });
}

test.serial('Ctrl-C during save (to stdout, or to a file) exits 130 and leaves no part of the archive', async (t) => {
  const ctx = join(work, 'big-ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN dd if=/dev/urandom of=/big bs=1M count=150 2>/dev/null\n');
  t.is((await runTsbuild(['build', '-q', '-t', 'big', ctx], { root })).code, 0);
  const dest = join(work, 'dest');
  mkdirSync(dest);
  for (const args of [['save', 'big'], ['save', '-o', join(dest, 'big.tar'), 'big']]) {
    const watched = args.includes('-o') ? dest : tmp;
    const child = spawn(process.execPath, [...shebangNodeFlags(tsbuildBin), tsbuildBin, '--root', root, ...args], { cwd: repoRoot, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', args.includes('-o') ? 'ignore' : openSync('/dev/null', 'w'), 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // interrupted once the archive is being written
    for (let i = 0; i < 400 && readdirSync(watched).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGINT');
    t.is(await exited, 130, stderr);
    t.regex(stderr, /^ERROR: save cancelled \(SIGINT\)$/m);
    t.deepEqual(readdirSync(watched), [], `${args.join(' ')}: nothing left in ${watched}`);
  }
});
