// src/state/db.ts leaveOpenAtExit: a process that changed only transient rows (a lease, last-used
// stamps) exits with its WAL as it is (no checkpoint, no fsync, no delete); one that changed
// anything else closes, which checkpoints, as before. Either way the next process sees every commit.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { leaveOpenAtExit, openDatabase, openLeases } from '../../src/state/index.ts';
import { removeDir, repoRoot, tempDir } from '../_support/tsbuild.ts';

/** Runs `body` in a process of its own on the root's database, as the CLI does (process.exit() after). */
function inProcess(root: string, body: string): { wal: boolean; stdout: string } {
  const script = `
    import { leaveOpenAtExit, openDatabase, openLeases, transientWrite } from ${JSON.stringify(join(repoRoot, 'src', 'state', 'index.ts'))};
    const db = openDatabase(${JSON.stringify(join(root, 'metadata.db'))});
    ${body}
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { wal: existsSync(join(root, 'metadata.db-wal')) && statSync(join(root, 'metadata.db-wal')).size > 0, stdout: r.stdout };
}

test('only transient rows changed: the WAL stays for the next process, which reads every commit from it', (t) => {
  const root = tempDir('tsbuild-wal-');
  try {
    // a lasting change: the close checkpoints and removes the WAL
    const first = inProcess(root, `
      db.prepare("INSERT INTO tags (name, digest, media_type, size, created) VALUES ('app', 'sha256:1', 'm', 1, 1)").run();
      console.log(leaveOpenAtExit(db)); db.close();`);
    t.is(first.stdout.trim(), 'false');
    t.false(first.wal);
    // a no-change rebuild's writes: a lease taken, held and released, a stamp
    const second = inProcess(root, `
      const lease = openLeases(db).create(); lease.add('blob', 'sha256:1'); lease.addAll([['cache', 'k'], ['snapshot', 's']]); lease.release();
      transientWrite(db, () => db.prepare('UPDATE tags SET created = 2').run());
      console.log(leaveOpenAtExit(db));`);
    t.is(second.stdout.trim(), 'true');
    t.true(second.wal, 'the WAL is left as it is');
    const third = inProcess(root, `console.log(JSON.stringify(db.prepare('SELECT name, created FROM tags').all()), db.prepare('PRAGMA integrity_check').get().integrity_check);`);
    t.is(third.stdout.trim(), '[{"name":"app","created":2}] ok');
    // anything else changed, even beside transient rows: closed, so checkpointed (durable)
    const fourth = inProcess(root, `
      openLeases(db).create().release();
      db.prepare("DELETE FROM tags WHERE name = 'app'").run();
      console.log(leaveOpenAtExit(db)); db.close();`);
    t.is(fourth.stdout.trim(), 'false');
    t.false(fourth.wal);
  } finally {
    removeDir(root);
  }
});

test('a push that made only gzip blobs (their rows, its lease) leaves the WAL; a diff\'s own tar row or an image\'s own blob closes it', (t) => {
  const root = tempDir('tsbuild-wal-');
  const meta = JSON.stringify(join(repoRoot, 'worker', 'snapshot', 'snapshot-metadata.ts'));
  const blob = (digest: string, mediaType: string) => `{ diffId: 'sha256:d', digest: '${digest}', size: 1, mediaType: '${mediaType}', empty: false }`;
  try {
    // a compressed blob's row is a cache: lost to a power cut, the diff is compressed again
    const push = inProcess(root, `
      const { createSnapshotMetadata } = await import(${meta});
      const lease = openLeases(db).create(); lease.add('blob', 'sha256:g');
      createSnapshotMetadata(db).setBlob('s1', undefined, 'gzip', ${blob('sha256:g', 'application/vnd.oci.image.layer.v1.tar+gzip')}, { replace: false, derived: true });
      lease.release();
      console.log(leaveOpenAtExit(db));`);
    t.is(push.stdout.trim(), 'true');
    t.true(push.wal);
    // rows kept durable: the diff's own tar (what every other blob of it is made from), and an
    // image's own gzip blob (unpacked from a registry's: not made again by compressing)
    const durable: [string, string, string, boolean][] = [
      ['s2', 'uncompressed', blob('sha256:u', 'application/vnd.oci.image.layer.v1.tar'), false],
      ['s3', 'gzip', blob('sha256:o', 'application/vnd.oci.image.layer.v1.tar+gzip'), true],
    ];
    for (const [snapshot, variant, row, replace] of durable) {
      const kept = inProcess(root, `
        const { createSnapshotMetadata } = await import(${meta});
        createSnapshotMetadata(db).setBlob('${snapshot}', undefined, '${variant}', ${row}, { replace: ${replace} });
        console.log(leaveOpenAtExit(db)); db.close();`);
      t.is(kept.stdout.trim(), 'false', snapshot);
      t.false(kept.wal, snapshot);
    }
    const read = inProcess(root, `console.log(db.prepare('SELECT snapshot, compression FROM snapshot_blobs ORDER BY snapshot').all().map((r) => r.snapshot + ':' + r.compression).join(' '));`);
    t.is(read.stdout.trim(), 's1:gzip s2:uncompressed s3:gzip', 'the next process sees every row');
  } finally {
    removeDir(root);
  }
});

test('in this process: a connection with a transaction open or already closed is not left open', (t) => {
  const root = tempDir('tsbuild-wal-');
  try {
    const db = openDatabase(join(root, 'metadata.db'));
    openLeases(db).create();
    db.exec('BEGIN');
    t.false(leaveOpenAtExit(db));
    db.exec('ROLLBACK');
    db.close();
    t.false(leaveOpenAtExit(db));
  } finally {
    removeDir(root);
  }
});
