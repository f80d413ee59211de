// listOpaque: overlay's opaque markers below a tree, read with getfattr only when a subdirectory exists.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isOpaque, listOpaque, setOpaque } from '../../worker/snapshot/xattr.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';
import { layerEntries, run, withWorker } from './_setup.ts';

test('opaque directories below the tree are listed, the tree itself is not', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  mkdirSync(join(dir, 'a', 'deep'), { recursive: true });
  mkdirSync(join(dir, 'plain'));
  mkdirSync(join(dir, 'with space\nnewline'));
  for (const p of [dir, join(dir, 'a', 'deep'), join(dir, 'with space\nnewline')]) await setOpaque(p);
  t.deepEqual([...(await listOpaque(dir))].sort(), [join(dir, 'a', 'deep'), join(dir, 'with space\nnewline')]);
});

test('a tree of files only has no opaque directories, even when its root is marked', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  writeFileSync(join(dir, 'f1'), '1\n');
  await setOpaque(dir);
  t.regex(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', dir], { encoding: 'utf8' }), /y/);
  t.deepEqual([...(await listOpaque(dir))], []);
});

test('a missing tree gives no opaque directories', async (t) => {
  t.deepEqual([...(await listOpaque('/nonexistent/tsbuild-xattr-test'))], []);
});

test('a RUN that removes a directory and makes it again exports it opaque; a file-only layer has just its file', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const replaced = await w.worker.run(run('rm -r /root && mkdir /root && echo x > /root/only'), [{ type: 'snapshot', id: base }], w.ctx);
    const names = (await layerEntries(w, replaced)).map((e) => e.name).sort();
    t.deepEqual(names, ['root/', 'root/.wh..wh..opq', 'root/only']);
    const flat = await w.worker.run(run('echo 1 > /f1'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual((await layerEntries(w, flat)).map((e) => e.name), ['f1']);
  }));

test('isOpaque reads the marker of one directory only, without following a link', async (t) => {
  const dir = tempDir('tsbuild-xattr-one-');
  try {
    mkdirSync(join(dir, 'o'));
    mkdirSync(join(dir, 'plain'));
    await setOpaque(join(dir, 'o'));
    symlinkSync(join(dir, 'o'), join(dir, 'link'));
    t.true(await isOpaque(join(dir, 'o')));
    t.false(await isOpaque(join(dir, 'plain')));
    t.false(await isOpaque(join(dir, 'link')), 'a link to an opaque dir is not itself opaque');
    t.false(await isOpaque(join(dir, 'missing')));
  } finally {
    removeDir(dir);
  }
});

test('a tree of many directories is asked in batches, and each opaque one is found', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  // ~300 KiB of directory names: more than one batch of getfattr's arguments
  const long = 'd'.repeat(200);
  const marked: string[] = [];
  for (let i = 0; i < 1500; i++) {
    const p = join(dir, `${long}${i}`);
    mkdirSync(p);
    if (i % 500 === 499) marked.push(p);
  }
  for (const p of marked) await setOpaque(p);
  t.deepEqual([...(await listOpaque(dir))].sort(), marked.sort());
});

test.serial('a getfattr that fails for another reason than a missing attribute fails the listing', async (t) => {
  const dir = tempDir();
  const bin = tempDir();
  t.teardown(() => {
    removeDir(dir);
    removeDir(bin);
  });
  mkdirSync(join(dir, 'sub'));
  // a layer without its opaque markers would bring deleted lower files back: never taken as "none"
  writeFileSync(join(bin, 'getfattr'), '#!/bin/sh\necho "getfattr: out of memory" >&2\nexit 2\n', { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    await t.throwsAsync(listOpaque(dir), { message: /cannot read overlay opaque markers/ });
  } finally {
    process.env.PATH = path;
  }
});
