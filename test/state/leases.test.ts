// Leases (src/state/leases.ts): what GC must keep is what a live lease or a tag holds. Two builds
// hold overlapping things at once; an expired lease and one whose process was killed hold nothing
// and are dropped at recovery.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openDatabase, openLeases, statePaths } from '../../src/state/index.ts';
import { recoverRoot } from '../../worker/recover.ts';
import { removeDir, repoRoot, tempDir } from '../_support/tsbuild.ts';

const sorted = (s: Set<string>) => [...s].sort();

test('two concurrent leases, an expired one and a tag: held() is exactly what a live lease or a tag names', async (t) => {
  const root = tempDir('tsbuild-leases-');
  const db = openDatabase(statePaths(root).db);
  try {
    const leases = openLeases(db);
    const a = leases.create();
    const b = leases.create();
    const old = leases.create({ ttlMs: 1 });
    a.add('snapshot', 's1');
    a.add('blob', 'sha256:b1');
    a.add('cache', 'sha256:k1');
    b.add('snapshot', 's2');
    b.add('blob', 'sha256:b1');
    b.add('blob', 'sha256:b1');
    old.add('snapshot', 's3');
    old.add('blob', 'sha256:b3');
    db.prepare('INSERT INTO tags (name, digest, media_type, size, created) VALUES (?, ?, ?, ?, ?)').run('docker.io/library/app:latest', 'sha256:m1', 'application/vnd.oci.image.manifest.v1+json', 100, Date.now());
    await new Promise((r) => setTimeout(r, 5));

    const held = leases.held();
    t.deepEqual(sorted(held.snapshots), ['s1', 's2']);
    t.deepEqual(sorted(held.blobs), ['sha256:b1', 'sha256:m1'], 'a tag holds its manifest');
    t.deepEqual(sorted(held.cacheKeys), ['sha256:k1']);
    t.false(leases.isHeld('snapshot', 's3'), 'an expired lease holds nothing');
    t.true(leases.isHeld('blob', 'sha256:m1'));

    // one build ends: what the other holds stays held
    a.release();
    a.release();
    a.add('snapshot', 'late');
    t.false(leases.isHeld('snapshot', 's1'));
    t.false(leases.isHeld('snapshot', 'late'), 'a released lease takes nothing more');
    t.true(leases.isHeld('blob', 'sha256:b1'), 'still held by the other build');
    t.true(leases.isHeld('snapshot', 's2'));

    // recovery drops the expired lease, never a live one
    t.is(leases.dropStale(), 1);
    t.is((db.prepare('SELECT count(*) AS n FROM lease_resources WHERE lease = ?').get(old.id) as { n: number }).n, 0, 'its resources went with it');
    t.true(leases.isHeld('snapshot', 's2'));
    b.release();
    t.deepEqual(sorted(leases.held().snapshots), []);
    t.deepEqual(sorted(leases.held().blobs), ['sha256:m1']);
  } finally {
    db.close();
    removeDir(root);
  }
});

test('the lease of a killed build holds until a worker opens the root, which drops it', async (t) => {
  const root = tempDir('tsbuild-leases-');
  const paths = statePaths(root);
  const db = openDatabase(paths.db);
  try {
    // a build process that takes a lease and is killed before it can release it
    const script = `
      import { openDatabase, openLeases, statePaths } from ${JSON.stringify(join(repoRoot, 'src/state/index.ts'))};
      const db = openDatabase(statePaths(${JSON.stringify(root)}).db);
      openLeases(db).create().add('snapshot', 'killed-build');
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    t.is(child.signal, 'SIGKILL', child.stderr);
    const leases = openLeases(db);
    const mine = leases.create();
    mine.add('snapshot', 'running-build');
    // unexpired: still held until recovery looks at its owner
    t.true(leases.isHeld('snapshot', 'killed-build'));

    const claim = await recoverRoot({ paths, db });
    claim.release();
    t.false(leases.isHeld('snapshot', 'killed-build'), 'dropped: its process is gone');
    t.true(leases.isHeld('snapshot', 'running-build'), 'a live process keeps its lease');
    mine.release();
  } finally {
    db.close();
    removeDir(root);
  }
});

test('addAll holds every resource in one commit, seen by another connection; what a lease holds is not written again', async (t) => {
  const root = tempDir('tsbuild-leases-');
  const db = openDatabase(statePaths(root).db);
  const other = openDatabase(statePaths(root).db);
  try {
    const leases = openLeases(db);
    const lease = leases.create();
    lease.add('cache', 'sha256:k1');
    const changes = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = changes();
    lease.addAll([['cache', 'sha256:k1'], ['snapshot', 's1'], ['blob', 'sha256:b1'], ['blob', 'sha256:b1'], ['blob', 'sha256:b2']]);
    t.is(changes() - before, 3, 'only the three resources not held yet are written');
    const seen = openLeases(other).held();
    t.deepEqual(sorted(seen.blobs), ['sha256:b1', 'sha256:b2']);
    t.deepEqual(sorted(seen.snapshots), ['s1']);
    t.deepEqual(sorted(seen.cacheKeys), ['sha256:k1']);
    const again = changes();
    lease.add('blob', 'sha256:b2');
    lease.addAll([['snapshot', 's1']]);
    t.is(changes(), again, 'held already: nothing written');

    // inside a caller's transaction, its rollback takes the resources back
    db.exec('BEGIN IMMEDIATE');
    lease.addAll([['snapshot', 's2']]);
    db.exec('ROLLBACK');
    t.false(openLeases(other).isHeld('snapshot', 's2'));
    lease.add('snapshot', 's2');
    t.true(openLeases(other).isHeld('snapshot', 's2'), 'added again after the rollback');
    lease.release();
    lease.addAll([['snapshot', 's3']]);
    t.false(openLeases(other).isHeld('snapshot', 's3'), 'a released lease takes nothing more');
    t.deepEqual(sorted(openLeases(other).held().blobs), []);
  } finally {
    other.close();
    db.close();
    removeDir(root);
  }
});
