// The copy's reuse plan on plain directories (worker/file/copy-reuse.ts): what it links, and that
// anything unexpected about the previous result (a changed inode, a pruned file) or the new tree
// (a path written after the file was deferred) makes it copy or leave the path, never link.
import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCopyReuse } from '../../worker/file/copy-reuse.ts';
import { copyEntry } from '../../worker/file/write-tree.ts';
import { contextDir, removeDir, tempDir } from '../_support/tsbuild.ts';

/** Copies `ctx` into `<dir>/fs/app` with a reuse plan on `previous`; returns the plan (not finished). */
function copyWithPlan(ctx: string, dir: string, previous?: string) {
  const fs = join(dir, 'fs');
  mkdirSync(fs, { recursive: true });
  const plan = openCopyReuse({
    rootfs: fs,
    upper: fs,
    manifest: join(dir, 'manifest'),
    ...(previous !== undefined && { previous: { id: basename(previous), fs: join(previous, 'fs'), manifest: join(previous, 'manifest') } }),
  });
  copyEntry(ctx, join(fs, 'app'), { owner: { uid: 0, gid: 0 }, links: new Map(), reuse: plan });
  return plan;
}

test('unchanged files are linked; a changed previous inode, a pruned one and a path written since are not', async (t) => {
  const ctx = contextDir({ 'same.txt': 'same\n', 'changed-inode.txt': 'x\n', 'pruned.txt': 'p\n', 'taken.txt': 't\n', 'also-same.txt': 'n\n' });
  const work = tempDir();
  try {
    await sleep(2100);
    const [one, two] = [join(work, 'one'), join(work, 'two')];
    t.deepEqual(copyWithPlan(ctx, one).finish(), { linked: 0, copied: 0 });
    const plan = copyWithPlan(ctx, two, one);
    // after the copy deferred them: the previous result changes under it, and the new tree gets a file
    chmodSync(join(one, 'fs/app/changed-inode.txt'), 0o600);
    rmSync(join(one, 'fs/app/pruned.txt'));
    writeFileSync(join(two, 'fs/app/taken.txt'), 'written since\n');
    t.deepEqual(plan.finish(), { linked: 2, copied: 2 });
    // the result names the one it linked from, whose tar its own may read (worker/layer/tar-reuse.ts)
    t.is(readFileSync(join(two, 'tar-base'), 'utf8'), 'one\n');
    const ino = (dir: string, name: string) => lstatSync(join(dir, 'fs/app', name)).ino;
    t.is(ino(two, 'same.txt'), ino(one, 'same.txt'));
    t.is(ino(two, 'also-same.txt'), ino(one, 'also-same.txt'));
    t.not(ino(two, 'changed-inode.txt'), ino(one, 'changed-inode.txt'));
    t.is(lstatSync(join(two, 'fs/app/changed-inode.txt')).mode & 0o7777, 0o644, 'copied from the source, with its mode');
    t.is(readFileSync(join(two, 'fs/app/pruned.txt'), 'utf8'), 'p\n');
    t.is(readFileSync(join(two, 'fs/app/taken.txt'), 'utf8'), 'written since\n');
    t.is(lstatSync(join(one, 'fs/app/taken.txt')).nlink, 1);
  } finally {
    removeDir(ctx);
    removeDir(work);
  }
});

test('a source changed less than two seconds before the copy is never recorded, so never linked', async (t) => {
  const ctx = contextDir({ 'fresh.txt': 'fresh\n' });
  const work = tempDir();
  try {
    const [one, two] = [join(work, 'one'), join(work, 'two')];
    copyWithPlan(ctx, one).finish();
    t.is(readFileSync(join(one, 'manifest'), 'utf8').trim().split('\n').length, 1, 'the manifest lists nothing');
    await sleep(2100);
    t.deepEqual(copyWithPlan(ctx, two, one).finish(), { linked: 0, copied: 0 });
    t.not(lstatSync(join(two, 'fs/app/fresh.txt')).ino, lstatSync(join(one, 'fs/app/fresh.txt')).ino);
  } finally {
    removeDir(ctx);
    removeDir(work);
  }
});

test('names JSON must escape are linked build after build, and a directory replaced after its files were deferred takes them with it', async (t) => {
  const names = ['quote".txt', 'back\\slash.txt', 'new\nline.txt', 'tab\there.txt', 'ünï.txt', 'sub/deep.txt'];
  const ctx = contextDir(Object.fromEntries(names.map((n, i) => [n, `file ${i}\n`])));
  const work = tempDir();
  try {
    await sleep(2100);
    const [one, two, three, four] = ['one', 'two', 'three', 'four'].map((n) => join(work, n));
    copyWithPlan(ctx, one).finish();
    t.deepEqual(copyWithPlan(ctx, two, one).finish(), { linked: names.length, copied: 0 });
    // the second result's manifest names the same files: a third copy links them again
    t.deepEqual(copyWithPlan(ctx, three, two).finish(), { linked: names.length, copied: 0 });
    for (const n of names) t.is(lstatSync(join(three, 'fs/app', n)).ino, lstatSync(join(one, 'fs/app', n)).ino, n);
    // sub/ becomes a file after sub/deep.txt was deferred: nothing is linked below it
    const plan = copyWithPlan(ctx, four, three);
    const other = contextDir({ sub: 'now a file\n' });
    try {
      copyEntry(other, join(four, 'fs/app'), { owner: { uid: 0, gid: 0 }, links: new Map(), reuse: plan });
    } finally {
      removeDir(other);
    }
    t.deepEqual(plan.finish(), { linked: names.length - 1, copied: 0 });
    t.is(readFileSync(join(four, 'fs/app/sub'), 'utf8'), 'now a file\n');
    t.is(readFileSync(join(four, 'fs/app/new\nline.txt'), 'utf8'), 'file 2\n');
  } finally {
    removeDir(ctx);
    removeDir(work);
  }
});
