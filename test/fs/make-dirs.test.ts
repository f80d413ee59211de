// makeDirs (src/fs): mkdir -p that ends where Node's recursive mkdir spins forever.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from '../../src/fs/index.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

test('makes the missing parents, and again is a no-op', async (t) => {
  const dir = tempDir();
  try {
    await makeDirs(join(dir, 'a/b/c'), { mode: 0o750 });
    t.true(statSync(join(dir, 'a/b/c')).isDirectory());
    t.is(statSync(join(dir, 'a/b/c')).mode & 0o777, 0o750 & ~process.umask());
    await makeDirs(join(dir, 'a/b/c'));
    await makeDirs(dir);
  } finally {
    removeDir(dir);
  }
});

test('a file in the way is EEXIST or ENOTDIR, at once', async (t) => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'f'), 'x');
    await t.throwsAsync(makeDirs(join(dir, 'f')), { code: 'EEXIST' });
    await t.throwsAsync(makeDirs(join(dir, 'f/sub/dir')), { code: 'ENOTDIR' });
  } finally {
    removeDir(dir);
  }
});

test('under /proc it fails at once, where Node\'s recursive mkdir never returns', async (t) => {
  await t.throwsAsync(makeDirs('/proc/tsbuild-no/such'), { code: 'ENOENT', message: 'cannot create directory /proc/tsbuild-no: /proc takes no new directories' });
  // the reason this module exists: if Node ever fixes it, this says so and the module can go
  const node = spawnSync(process.execPath, ['-e', "require('fs').mkdirSync('/proc/tsbuild-no/such', { recursive: true })"], { timeout: 2000 });
  t.is(node.error?.message.includes('ETIMEDOUT'), true, 'Node\'s own recursive mkdir still loops under /proc');
});
