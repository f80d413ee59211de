// Removal off a step's path (worker/snapshot/background-removal.ts): what a trash takes is gone
// from its place at once and from the disk once the removals settle; what it cannot take (another
// filesystem) is left for the caller to remove in place.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrash, removalsSettled, removeLater } from '../../../worker/snapshot/background-removal.ts';

test('a trash takes paths out of their place at once and removes them in the background', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsbuild-trash-'));
  try {
    const tmp = join(base, 'tmp');
    const upper = join(base, 'upper');
    mkdirSync(tmp);
    mkdirSync(join(upper, 'proc'), { recursive: true });
    mkdirSync(join(upper, 'work', 'work'), { recursive: true });
    writeFileSync(join(upper, 'kept'), 'x');
    const trash = createTrash(tmp);
    t.true(trash.take(join(upper, 'proc')));
    t.true(trash.take(join(upper, 'work')));
    t.false(trash.take(join(upper, 'missing')));
    t.deepEqual(readdirSync(upper), ['kept']);
    trash.empty();
    await removalsSettled();
    t.deepEqual(readdirSync(tmp), []);
    removeLater(join(upper, 'kept'));
    await removalsSettled();
    t.deepEqual(readdirSync(upper), []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a path on another filesystem is not taken: the caller removes it in place', (t) => {
  const shm = '/dev/shm';
  if (!existsSync(shm)) return t.pass('no /dev/shm here');
  const other = mkdtempSync(join(shm, 'tsbuild-trash-'));
  const tmp = mkdtempSync(join(tmpdir(), 'tsbuild-trash-'));
  try {
    const trash = createTrash(tmp);
    t.false(trash.take(other));
    t.true(existsSync(other));
    trash.empty();
  } finally {
    rmSync(other, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});
