import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../../src/content/index.ts';
import { isTsbuildError } from '../../../src/errors/index.ts';
import { openDatabase, statePaths } from '../../../src/state/index.ts';
import { openWorker } from '../../../worker/index.ts';
import { chooseSnapshotter, parseSnapshotterChoice } from '../../../worker/snapshot/choose-snapshotter.ts';
import { createBusyboxRootfs } from '../../_support/busybox-rootfs.ts';
import { copyAll, layerEntries, run, type TestWorker } from '../_setup.ts';

test('TSBUILD_SNAPSHOTTER names overlay, copy (or native) and auto; anything else is a clear error', (t) => {
  t.is(parseSnapshotterChoice(undefined, 'TSBUILD_SNAPSHOTTER'), 'auto');
  t.is(parseSnapshotterChoice('native', 'TSBUILD_SNAPSHOTTER'), 'native');
  const e = t.throws(() => parseSnapshotterChoice('zfs', 'TSBUILD_SNAPSHOTTER'));
  t.true(isTsbuildError(e) && e.code === 'OPTION_INVALID');
  t.is(e!.message, 'TSBUILD_SNAPSHOTTER: unknown snapshotter "zfs"');
});

test('auto picks overlay where it mounts, and an asked-for copy says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-choose-'));
  try {
    const tmpDir = join(dir, 'tmp');
    const cacheFile = join(dir, 'probe.json');
    t.deepEqual(await chooseSnapshotter('auto', { tmpDir, cacheFile }), { name: 'overlay' });
    t.like(await chooseSnapshotter('native', { tmpDir }), { name: 'copy', notice: 'using the copying snapshotter, as asked: each step copies its parent filesystem' });
    t.deepEqual(readdirSync(tmpDir), [], 'the probe leaves nothing');
    // the answer is kept for this kernel and filesystem: a root probes once
    const kept = JSON.parse(readFileSync(cacheFile, 'utf8')) as { host: string };
    writeFileSync(cacheFile, JSON.stringify({ host: kept.host, failure: 'remembered' }));
    t.like(await chooseSnapshotter('auto', { tmpDir, cacheFile }), { name: 'copy', notice: 'overlayfs cannot be mounted here (remembered): using the copying snapshotter, slower and bigger on disk' });
    writeFileSync(cacheFile, JSON.stringify({ host: 'another kernel', failure: 'stale' }));
    t.deepEqual(await chooseSnapshotter('auto', { tmpDir, cacheFile }), { name: 'overlay' }, 'probed again elsewhere');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state root on overlayfs (overlay on overlay) falls back to copying, says why, and builds', async (t) => {
  const outer = mkdtempSync(join(tmpdir(), 'tsbuild-ovl-on-ovl-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(outer, n));
  for (const d of [lower, upper, work, merged]) mkdirSync(d);
  execFileSync('mount', ['-t', 'overlay', 'overlay', merged, '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`]);
  const rootfs = createBusyboxRootfs();
  try {
    const root = join(merged, 'state');
    const paths = statePaths(root);
    const db = openDatabase(paths.db);
    const content = openContentStore(paths.content);
    const worker = await openWorker({ root, db, content, snapshotter: 'auto' });
    try {
      const chosen = await worker.snapshotter;
      t.is(chosen.name, 'copy');
      t.regex(chosen.notice ?? '', /^overlayfs cannot be mounted here \(.+\): using the copying snapshotter/);
      const ctx = { vertex: { digest: 'sha256:test', name: 'test' }, progress: { emit: () => undefined }, signal: new AbortController().signal };
      const base = await worker.run(copyAll(), [{ type: 'local', dir: rootfs, excludePatterns: [] }], ctx);
      const id = await worker.run(run('echo hi > /hi && rm /etc/group'), [{ type: 'snapshot', id: base }], ctx);
      const names = (await layerEntries({ worker, content } as TestWorker, id)).map((e) => e.name).sort();
      t.deepEqual(names, ['etc/', 'etc/.wh.group', 'hi']);
    } finally {
      await worker.close();
      db.close();
    }
  } finally {
    execFileSync('sh', ['-c', `grep -o " ${merged}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    rmSync(outer, { recursive: true, force: true });
    rmSync(rootfs, { recursive: true, force: true });
  }
});
