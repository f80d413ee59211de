// A build context is untrusted input too (a CI job builds a pull request's tree): its Dockerfile
// and .dockerignore must not read host files, block, or cost more than their size.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const noStack = /^\s+at /m;

test('a Dockerfile that is a symlink out of the context is not followed there: nothing of the host file is printed', async (t) => {
  const root = tempDir();
  const secret = join(root, 'host-secret');
  writeFileSync(secret, 'root:$6$SECRETHASH:20228:0:99999:7:::\n');
  const ctx = contextDir({ 'a.txt': 'a' });
  symlinkSync(secret, join(ctx, 'Dockerfile'));
  try {
    for (const cmd of [['build', '--progress', 'plain', ctx], ['check', ctx]]) {
      const r = await runTsbuild(cmd, { root });
      t.is(r.code, 1, r.stderr);
      t.notRegex(r.stderr + r.stdout, /SECRETHASH/);
      t.regex(r.stderr, /cannot read Dockerfile: it does not exist inside the build context/);
      t.notRegex(r.stderr, noStack);
    }
  } finally {
    removeDir(ctx);
    removeDir(root);
  }
});

test('a Dockerfile inside the context may be a symlink to another file of the context', async (t) => {
  const root = tempDir();
  const ctx = contextDir({ 'docker/Dockerfile.real': 'FROM scratch\nCOPY a.txt /a\n', 'a.txt': 'a' });
  symlinkSync('docker/Dockerfile.real', join(ctx, 'Dockerfile'));
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 0, r.stderr);
  } finally {
    removeDir(ctx);
    removeDir(root);
  }
});

test('a Dockerfile that is a FIFO fails at once instead of blocking', async (t) => {
  const root = tempDir();
  const ctx = contextDir({ 'a.txt': 'a' });
  execFileSync('mkfifo', [join(ctx, 'Dockerfile')]);
  try {
    const started = Date.now();
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.true(Date.now() - started < 20_000);
    t.is(r.code, 1);
    t.regex(r.stderr, /cannot read Dockerfile: it is a FIFO, not a regular file/);
  } finally {
    removeDir(ctx);
    removeDir(root);
  }
});

test('a .dockerignore of nested ** patterns costs linear time (was exponential: 77 bytes hung tsbuild)', async (t) => {
  const root = tempDir();
  const deep = Array.from({ length: 30 }, () => 'a').join('/');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY . /c\n', [`${deep}/b`]: 'b', [`${deep}/x`]: 'x', '.dockerignore': Array.from({ length: 25 }, () => '**').join('/') + '/x\n' });
  try {
    const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', '-o', `type=local,dest=${join(root, 'out')}`, ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((ok) => child.on('close', ok));
    clearTimeout(timer);
    t.is(code, 0, stderr);
    const { existsSync } = await import('node:fs');
    t.true(existsSync(join(root, 'out', 'c', deep, 'b')));
    t.false(existsSync(join(root, 'out', 'c', deep, 'x')), 'the pattern still excludes what it names');
  } finally {
    removeDir(ctx);
    removeDir(root);
  }
});

test('.dockerignore patterns match case-sensitively, as Docker\'s do on Linux, and a runaway pattern stays fast', async (t) => {
  const { createIgnoreMatcher } = await import('../../src/context/index.ts');
  t.false(createIgnoreMatcher(['*.LOG']).ignores('a.log'));
  t.true(createIgnoreMatcher(['*.log']).ignores('a.log'));
  // this thread's CPU time, not the wall clock: the matching is synchronous, and a loaded machine
  // stretches wall time many times over
  const started = process.threadCpuUsage();
  const m = createIgnoreMatcher(['*a*a*a*a*a*a*a*a*a*a*a*a*b']);
  t.false(m.ignores('a'.repeat(60)));
  t.true(m.ignores(`${'a'.repeat(59)}b`));
  const cpu = process.threadCpuUsage(started);
  t.true((cpu.user + cpu.system) / 1000 < 2_000, `backtracking is cut short (${Math.round((cpu.user + cpu.system) / 1000)} ms of CPU)`);
});
