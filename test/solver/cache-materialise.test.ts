// A cache hit whose snapshot is gone is unpacked from its layer blobs: after GC-like removal of
// every snapshot (dirs and rows), a rebuild runs no step and gives the same image.
import test from 'ava';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

type Event = { type: string; vertex?: { name: string } };
const events = (stderr: string) => parseRawJson(stderr);
const ranSteps = (es: Event[]) => es.filter((e) => e.type === 'vertex.started' && !/^\[internal\]|exporting/.test(e.vertex!.name)).map((e) => e.vertex!.name);

/** The manifest a tag names, and the snapshot dirs on disk. */
function storeState(tag: string) {
  const db = new DatabaseSync(join(root, 'metadata.db'));
  try {
    const row = db.prepare('SELECT digest FROM tags WHERE name LIKE ?').get(`%${tag}:latest`) as { digest: string };
    return { manifest: row.digest, snapshots: readdirSync(join(root, 'snapshots')).filter((n) => /^[0-9a-f]+$/.test(n)) };
  } finally {
    db.close();
  }
}

/** What GC does to snapshots: their dirs and rows go; blobs and cache rows stay. */
function removeAllSnapshots(): void {
  const db = new DatabaseSync(join(root, 'metadata.db'));
  try {
    db.exec('PRAGMA foreign_keys = ON; DELETE FROM snapshots;');
  } finally {
    db.close();
  }
  for (const n of readdirSync(join(root, 'snapshots')).filter((n) => /^[0-9a-f]+$/.test(n))) rmSync(join(root, 'snapshots', n), { recursive: true, force: true });
}

test.serial('with every snapshot removed, a rebuild unpacks the cached results from their blobs: no step runs, the image is the same', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt /one > /both.txt\n', 'a.txt': 'a\n' });
  const env = { SOURCE_DATE_EPOCH: '0' };
  try {
    const first = await runTsbuild(['build', '--progress', 'rawjson', '-t', 'app', ctx], { root, env });
    t.is(first.code, 0, first.stderr);
    t.true(ranSteps(events(first.stderr)).some((n) => n.includes('RUN cat /a.txt /one')));
    const before = storeState('app');

    removeAllSnapshots();
    t.deepEqual(readdirSync(join(root, 'snapshots')).filter((n) => /^[0-9a-f]+$/.test(n)), []);

    const again = await runTsbuild(['build', '--progress', 'rawjson', '-t', 'app', ctx], { root, env });
    t.is(again.code, 0, again.stderr);
    const es = events(again.stderr);
    t.deepEqual(ranSteps(es), [], 'no step ran');
    t.true(es.some((e) => e.type === 'vertex.cached' && e.vertex!.name.includes('RUN cat /a.txt /one')));
    const after = storeState('app');
    t.is(after.manifest, before.manifest, 'the same image (manifest digest)');
    t.true(after.snapshots.length > 0, 'the result was unpacked into snapshots');

    // and the unpacked snapshots are reused as they are: nothing more is unpacked
    const third = await runTsbuild(['build', '--progress', 'rawjson', '-t', 'app', ctx], { root, env });
    t.is(third.code, 0, third.stderr);
    t.deepEqual(ranSteps(events(third.stderr)), []);
    t.deepEqual(storeState('app'), after);

    // a step after the cached ones runs on the unpacked result: a real filesystem
    removeAllSnapshots();
    const dest = tempDir('tsbuild-out-');
    try {
      const more = contextDir({ Dockerfile: 'FROM busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt /one > /both.txt\nRUN wc -l < /both.txt > /lines\n', 'a.txt': 'a\n' });
      const next = await runTsbuild(['build', '--progress', 'rawjson', '--output', `type=local,dest=${dest}`, more], { root, env });
      removeDir(more);
      t.is(next.code, 0, next.stderr);
      t.deepEqual(ranSteps(events(next.stderr)).map((n) => n.replace(/^\[.*?\] /, '')), ['RUN wc -l < /both.txt > /lines']);
      t.is(readFileSync(join(dest, 'both.txt'), 'utf8'), 'a\none\n');
      t.is(readFileSync(join(dest, 'lines'), 'utf8').trim(), '2');
    } finally {
      removeDir(dest);
    }
  } finally {
    removeDir(ctx);
  }
});
