// A full disk is the machine's doing, not a bug: a build whose state root fills up (a small tmpfs
// here) fails with "no space left on device", where, and what to do; no stack trace, no "internal
// error"; and what the store held before is still there and usable.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxBinDir, contextDir, removeDir, repoRoot, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const mnt = tempDir('tsbuild-full-');
const root = join(mnt, 'root');
test.before(() => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
  mkdirSync(root);
});
test.after.always(() => {
  try {
    execFileSync('umount', ['-l', mnt]);
  } finally {
    removeDir(mnt);
  }
});

test.serial('a build that fills the state root: a clear error, and the store still builds from what it held', async (t) => {
  const base = await runTsbuild(['build', '--progress', 'quiet', '--build-context', `busybox-bin=${busyboxBinDir}`, '-t', 'busybox', join(repoRoot, 'fixtures', 'busybox')], { root });
  t.is(base.code, 0, base.stderr);
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY big.bin /\n' });
  writeFileSync(join(ctx, 'big.bin'), Buffer.alloc(24 * 1024 * 1024, 7));
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: .*no space left on device/m);
    t.regex(r.stderr, /^hint: free space on the filesystem of the state root/m);
    t.notRegex(r.stderr, /internal error|This is a bug|\n\s+at /);
    // what was stored before is intact: a step on the base still runs
    const small = contextDir({ Dockerfile: 'FROM busybox\nRUN echo still-works > /ok\n' });
    const out = join(mnt, 'out');
    try {
      const again = await runTsbuild(['build', '--progress', 'quiet', '-o', `type=local,dest=${out}`, small], { root });
      t.is(again.code, 0, again.stderr);
    } finally {
      removeDir(small);
    }
  } finally {
    removeDir(ctx);
  }
});

test.serial('an export that fills its destination: a clear error, no partial archive, the store intact', async (t) => {
  const dest = tempDir('tsbuild-full-dest-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dest]);
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY data.bin /\n' });
  writeFileSync(join(ctx, 'data.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'exported', '-o', `type=oci,dest=${join(dest, 'app.tar')},compression=uncompressed`, ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: .*no space left on device/m);
    t.notRegex(r.stderr, /internal error|This is a bug|\n\s+at /);
    t.deepEqual(readdirSync(dest), []);
    const again = await runTsbuild(['build', '--progress', 'quiet', '-t', 'exported', ctx], { root });
    t.is(again.code, 0, again.stderr);
  } finally {
    execFileSync('umount', ['-l', dest]);
    removeDir(dest);
    removeDir(ctx);
  }
});
