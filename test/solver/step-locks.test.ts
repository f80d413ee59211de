// Step locks (solver/step-locks.ts): one holder per cache key, within an engine and across
// processes on one root; a kill -9'd holder's lock is taken over; a waiter can be cancelled.
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { openStepLocks } from '../../solver/index.ts';
import { openDatabase, statePaths } from '../../src/state/index.ts';
import { removeDir, repoRoot, tempDir } from '../_support/tsbuild.ts';

function openRoot() {
  const root = tempDir('tsbuild-locks-');
  const db = openDatabase(statePaths(root).db);
  return { root, db, locks: openStepLocks(db), close: () => (db.close(), removeDir(root)) };
}

const key = 'sha256:' + 'ab'.repeat(32);
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a second holder of a key waits for the first to release it; other keys are free', async (t) => {
  const { locks, close } = openRoot();
  try {
    const first = await locks.acquire(key);
    t.true(locks.busy(key));
    let second = false;
    const waiting = locks.acquire(key).then((l) => ((second = true), l));
    const other = await locks.acquire('sha256:' + 'cd'.repeat(32));
    other.release();
    await tick(50);
    t.false(second, 'the key is still held');
    first.release();
    first.release();
    (await waiting).release();
    t.true(second);
    t.false(locks.busy(key));
  } finally {
    close();
  }
});

test('two connections to one root (as two processes) take turns on a key, and settled waits for the holder', async (t) => {
  const { root, locks, close } = openRoot();
  const db2 = openDatabase(statePaths(root).db);
  try {
    const other = openStepLocks(db2);
    const held = await locks.acquire(key);
    t.true(other.busy(key), 'the row is seen from the other connection');
    let settled = false;
    const waiter = other.settled(key).then(() => (settled = true));
    await tick(60);
    t.false(settled);
    held.release();
    await waiter;
    t.false(other.busy(key));
    (await other.acquire(key)).release();
  } finally {
    db2.close();
    close();
  }
});

test('a waiter cancelled by its signal stops waiting with the signal reason and leaves nothing held', async (t) => {
  const { locks, close } = openRoot();
  try {
    const held = await locks.acquire(key);
    const ac = new AbortController();
    const waiting = locks.acquire(key, ac.signal);
    setTimeout(() => ac.abort(new Error('build cancelled (SIGTERM)')), 30);
    await t.throwsAsync(waiting, { message: 'build cancelled (SIGTERM)' });
    await t.throwsAsync(locks.settled(key, ac.signal), { message: 'build cancelled (SIGTERM)' });
    held.release();
    t.false(locks.busy(key));
    (await locks.acquire(key)).release();
  } finally {
    close();
  }
});

test('the lock of a process killed with -9 is taken over, and dropStale removes such rows', async (t) => {
  const { root, locks, db, close } = openRoot();
  try {
    const script = `
      import { openStepLocks } from ${JSON.stringify(join(repoRoot, 'solver', 'index.ts'))};
      import { openDatabase, statePaths } from ${JSON.stringify(join(repoRoot, 'src', 'state', 'index.ts'))};
      const locks = openStepLocks(openDatabase(statePaths(${JSON.stringify(root)}).db));
      await locks.acquire(${JSON.stringify(key)});
      await locks.acquire(${JSON.stringify('sha256:' + 'ef'.repeat(32))});
      console.log('held');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [data] = (await once(child.stdout, 'data')) as [Buffer];
    t.is(data.toString().trim(), 'held');
    t.true(locks.busy(key), 'a live process holds it');
    let got = false;
    const waiting = locks.acquire(key).then((l) => ((got = true), l));
    await tick(150);
    t.false(got);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await waiting;
    t.true(got, 'taken over once its owner was gone');
    lock.release();
    t.is(locks.dropStale(), 1, "the dead process's other row");
    t.deepEqual(db.prepare('SELECT key FROM step_locks').all(), []);
  } finally {
    close();
  }
});
