// quickExec: a program run through the syscall helper fails as execFile did (code, stderr), ends
// by its timeout, and one that forks into the background (as pasta does) returns when its
// foreground part exits.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quickExec } from '../../worker/helper-exec.ts';

test('exit 0 resolves; a failure carries the exit code and stderr; a missing program is ENOENT', async (t) => {
  await t.notThrowsAsync(quickExec('sh', ['-c', 'echo fine']));
  const failed = await t.throwsAsync(quickExec('sh', ['-c', 'echo broken >&2; exit 3']));
  t.is((failed as Error & { code?: number }).code, 3);
  t.is((failed as Error & { stderr?: string }).stderr, 'broken\n');
  const missing = await t.throwsAsync(quickExec('no-such-program-tsbuild', []));
  t.is((missing as Error & { code?: string }).code, 'ENOENT');
});

test('a program past its timeout is killed and the error says so; no output file is left', async (t) => {
  const dir = join(tmpdir(), `tsbuild-quick-${process.pid}`);
  const { mkdirSync, readdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  try {
    const started = Date.now();
    const e = await t.throwsAsync(quickExec('sleep', ['30'], { timeoutMs: 300, tmpDir: dir }));
    t.true(Date.now() - started < 5000);
    t.regex(e!.message, /timed out after 300 ms/);
    t.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a program that leaves a child in the background returns when it exits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-quick-bg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // the child waits until the test writes to the FIFO: it can only be written once quickExec has
  // returned, so returning at all shows quickExec did not wait for it (no clock involved)
  const gate = join(dir, 'gate');
  const marker = join(dir, 'marker');
  execFileSync('mkfifo', [gate]);
  await quickExec('sh', ['-c', `(read x < ${gate}; echo done > ${marker}) & exit 0`]);
  t.false(existsSync(marker), 'the background child still waits');
  writeFileSync(gate, 'go\n');
  while (!existsSync(marker) || readFileSync(marker, 'utf8') === '') await new Promise((r) => setTimeout(r, 20));
  t.is(readFileSync(marker, 'utf8'), 'done\n');
});
