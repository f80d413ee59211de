// A new state root asks ext4 to spread its snapshots over the block groups
// (worker/snapshot/spread-snapshots.ts): the TOPDIR attribute on <root>/snapshots, which `lsattr`
// shows as `T`, set by the syscall helper's ioctl when the worker opens a root without snapshots.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openContentStore } from '../../../src/content/index.ts';
import { openDatabase, statePaths } from '../../../src/state/index.ts';
import { openWorker } from '../../../worker/index.ts';
import { spreadSubdirs } from '../../../worker/snapshot/spread-snapshots.ts';
import { removeDir, tempDir } from '../../_support/tsbuild.ts';

const fsType = (dir: string) => spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim();
const attrs = (dir: string) => spawnSync('lsattr', ['-d', dir], { encoding: 'utf8' }).stdout.split(' ')[0] ?? '';

async function openAndClose(root: string): Promise<void> {
  const paths = statePaths(root);
  const db = openDatabase(paths.db);
  try {
    const worker = await openWorker({ root, db, content: openContentStore(paths.content) });
    await worker.close();
  } finally {
    db.close();
  }
}

test('a new state root marks its snapshots dir as the top of a hierarchy (ext4 TOPDIR), no other dir', async (t) => {
  const parent = tempDir('tsbuild-spread-');
  t.teardown(() => removeDir(parent));
  if (!fsType(parent).startsWith('ext')) return t.pass(`${fsType(parent)}, not ext4: the attribute does not apply`);
  const root = join(parent, 'root');
  await openAndClose(root);
  t.regex(attrs(join(root, 'snapshots')), /T/);
  // the other state dirs keep the usual placement
  t.notRegex(attrs(join(root, 'content')), /T/);
  t.notRegex(attrs(join(root, 'tmp')), /T/);
  // opening the root again leaves it as it is
  await openAndClose(root);
  t.regex(attrs(join(root, 'snapshots')), /T/);
});

test('spreadSubdirs sets the attribute on ext4 and says when the filesystem has no such attribute', async (t) => {
  const parent = tempDir('tsbuild-spread-');
  t.teardown(() => removeDir(parent));
  if (fsType(parent).startsWith('ext')) {
    const dir = join(parent, 'd');
    mkdirSync(dir);
    t.true(await spreadSubdirs(dir));
    t.regex(attrs(dir), /T/);
  }
  const shm = '/dev/shm';
  if (fsType(shm) !== 'tmpfs') return t.pass('no tmpfs at /dev/shm');
  const dir = join(shm, `tsbuild-spread-${process.pid}`);
  mkdirSync(dir);
  t.teardown(() => removeDir(dir));
  t.false(await spreadSubdirs(dir));
});
