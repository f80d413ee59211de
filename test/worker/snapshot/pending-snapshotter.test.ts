// The snapshotter of a worker whose overlay probe has not answered yet
// (worker/snapshot/pending-snapshotter.ts): committed snapshots are answered for at once, anything
// that makes a snapshot waits for the choice, and a failed choice is the error of those calls.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../../src/state/index.ts';
import type { ChosenSnapshotter } from '../../../worker/snapshot/choose-snapshotter.ts';
import { createOverlaySnapshotter } from '../../../worker/snapshot/overlay-snapshotter.ts';
import { createPendingSnapshotter } from '../../../worker/snapshot/pending-snapshotter.ts';
import { createSnapshotStore } from '../../../worker/snapshot/snapshot-store.ts';
import { newSnapshotKey } from '../../../worker/snapshot/snapshotter.ts';
import { removeDir, tempDir } from '../../_support/tsbuild.ts';

function setup(t: { teardown(fn: () => void): void }) {
  const root = tempDir('tsbuild-pending-');
  const db = openDatabase(join(root, 'metadata.db'));
  t.teardown(() => {
    db.close();
    removeDir(root);
  });
  const store = createSnapshotStore({ snapshotsDir: join(root, 'snapshots'), db });
  const make = () => createOverlaySnapshotter({ store, tmpDir: join(root, 'tmp') });
  return { store, make };
}

test('committed snapshots are answered for before the choice; prepare waits for it, then the chosen snapshotter works', async (t) => {
  const { store, make } = setup(t);
  const before = make();
  const base = newSnapshotKey();
  await before.prepare(base, undefined);
  writeFileSync(join(before.activeDir(base).dir, 'f'), 'x');
  await before.commit(base, base);

  let choose!: (c: ChosenSnapshotter) => void;
  const pending = createPendingSnapshotter(new Promise((resolve) => (choose = resolve)), make, store);
  t.true(pending.exists(base));
  t.deepEqual(pending.chain(base), [base]);
  t.deepEqual(pending.walk().map((s) => s.name), [base]);
  t.throws(() => pending.name, { message: 'snapshotter: name asked before any snapshot was prepared' });

  const key = newSnapshotKey();
  let prepared = false;
  const preparing = pending.prepare(key, base).then((m) => {
    prepared = true;
    return m;
  });
  await sleep(50);
  t.false(prepared, 'prepare waits for the choice');
  choose({ name: 'overlay' });
  const mounts = await preparing;
  t.is(mounts[0].type, 'overlay');
  t.is(pending.name, 'overlay');
  t.is(pending.stat(key)?.kind, 'active', 'an active snapshot of the chosen snapshotter');
  t.is(pending.activeDir(key).form, 'diff');
  await pending.remove(key);
  t.is(pending.stat(key), undefined);
});

test('a failed choice is the error of every call that waits for it, and nothing else fails', async (t) => {
  const { store, make } = setup(t);
  const failure = new Error('cannot make tmp');
  const pending = createPendingSnapshotter(Promise.reject(failure), make, store);
  await sleep(10);
  t.is(await t.throwsAsync(pending.prepare(newSnapshotKey(), undefined)), failure);
  t.is(await t.throwsAsync(pending.importDiff(newSnapshotKey(), undefined, '/nonexistent')), failure);
  t.deepEqual(pending.walk(), []);
});
