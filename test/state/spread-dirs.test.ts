// A new state root asks ext4 to spread its snapshots over the block groups (src/state/spread-dirs.ts):
// the TOPDIR attribute on <root>/snapshots, which `lsattr` shows as `T`.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { secureStateRoot } from '../../src/state/secure-root.ts';
import { spreadSubdirs } from '../../src/state/spread-dirs.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

const fsType = (dir: string) => spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim();
const attrs = (dir: string) => spawnSync('lsattr', ['-d', dir], { encoding: 'utf8' }).stdout.split(' ')[0] ?? '';

test('a new state root marks its snapshots dir as the top of a hierarchy (ext4 TOPDIR)', (t) => {
  const parent = tempDir('tsbuild-spread-');
  t.teardown(() => removeDir(parent));
  if (!fsType(parent).startsWith('ext')) return t.pass(`${fsType(parent)}, not ext4: the attribute does not apply`);
  const root = join(parent, 'root');
  secureStateRoot(root);
  t.regex(attrs(join(root, 'snapshots')), /T/);
  // the other state dirs keep the usual placement
  t.notRegex(attrs(join(root, 'content')), /T/);
  // opening the root again leaves it as it is
  secureStateRoot(root);
  t.regex(attrs(join(root, 'snapshots')), /T/);
});

test('spreadSubdirs says when the filesystem has no such attribute', (t) => {
  const shm = '/dev/shm';
  if (fsType(shm) !== 'tmpfs') return t.pass('no tmpfs at /dev/shm');
  const dir = join(shm, `tsbuild-spread-${process.pid}`);
  mkdirSync(dir);
  t.teardown(() => removeDir(dir));
  t.false(spreadSubdirs(dir));
});
