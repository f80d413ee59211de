// The no-change shortcut of context checksums: a read whose entries' stat data is as last time is
// answered with last time's checksum, and anything that changes a checksum also changes the answer.
import test from 'ava';
import { lstatSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { checksumSources, openFileDigestCache, openReadFingerprints, type ChecksumOptions, type FileDigestCache } from '../../src/context/index.ts';
import { openDatabase, type Database } from '../../src/state/index.ts';
import { contextDir } from '../_support/tsbuild.ts';
import { openTempDatabase } from '../_support/temp-database.ts';
import { contextEdits } from '../_support/context-edits.ts';

const openDb = openTempDatabase;

/** A file digest cache that counts lookups: the shortcut makes none. */
function countingCache(db: Database): FileDigestCache & { lookups: number } {
  const inner = openFileDigestCache(db);
  const c = {
    lookups: 0,
    get: (s: Parameters<FileDigestCache['get']>[0]) => {
      c.lookups++;
      return inner.get(s);
    },
    set: inner.set,
    flush: inner.flush,
  };
  return c;
}

test('an unchanged read is answered from its fingerprint: no digest looked up, no part hashed, the same checksum', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'src/b.js': 'b', 'src/c.js': 'c' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  // written just now (its mtime a second ahead: a slow machine must not let it settle before the read)
  utimesSync(join(dir, 'a.txt'), new Date(), new Date(Date.now() + 1000));
  const plain = await checksumSources(dir, ['.'], []);
  // not settled, so nothing is kept and the next read is a full one
  const fresh = await checksumSources(dir, ['.'], [], { fingerprints: openReadFingerprints(db) });
  t.is(fresh, plain);
  t.is((db.prepare('SELECT count(*) AS n FROM context_reads').get() as { n: number }).n, 0, 'a read of files written within the settle time is not kept');

  await sleep(2100);
  const opts = (): ChecksumOptions & { cache: ReturnType<typeof countingCache>; parts: string[] } => {
    const parts: string[] = [];
    return { cache: countingCache(db), fingerprints: openReadFingerprints(db), onPart: (p) => void parts.push(p), parts };
  };
  const first = opts();
  t.is(await checksumSources(dir, ['.'], [], first), plain);
  t.is(first.cache.lookups, 3, 'the first settled read is a full one');
  t.true(first.parts.length > 0);
  const second = opts();
  t.is(await checksumSources(dir, ['.'], [], second), plain);
  t.is(second.cache.lookups, 0, 'answered from the fingerprint');
  t.deepEqual(second.parts, []);

  // a kept checksum that no hash could give: only the shortcut returns it
  db.prepare('UPDATE context_reads SET checksum = ?').run('sha256:forged');
  t.is(await checksumSources(dir, ['.'], [], opts()), 'sha256:forged');
  db.prepare('DELETE FROM context_reads').run();
});

test('whatever changes a checksum misses the fingerprint: content, mode, added, removed, renamed, link target', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'src/b.js': 'b', 'src/c.js': 'c', 'd/x': 'x', 'e/y': 'y' });
  symlinkSync('d', join(dir, 'link'));
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  const edit = contextEdits(dir);
  const changes: [string, () => void, string[]][] = [
    ['content', edit.content, ['.']],
    ['mode', edit.mode, ['.']],
    ['added', edit.added, ['.']],
    ['removed', edit.removed, ['.']],
    ['renamed', edit.renamed, ['.']],
    ['followed link retargeted', edit.linkRetargeted, ['link']],
  ];
  for (const [what, change, src] of changes) {
    // settled, then read once to keep its fingerprint
    await sleep(2100);
    const fingerprints = openReadFingerprints(db);
    const kept = await checksumSources(dir, src, [], { fingerprints, cache: openFileDigestCache(db) });
    t.is(await checksumSources(dir, src, [], { fingerprints, cache: openFileDigestCache(db) }), kept, `${what}: kept`);
    change();
    const now = await checksumSources(dir, src, [], { fingerprints, cache: openFileDigestCache(db) });
    t.not(now, kept, `${what}: changes the checksum`);
    t.is(now, await checksumSources(dir, src, []), `${what}: the checksum of the tree as it is now`);
  }
});

test('a fingerprint answers only its own read: other sources, excludes, mode or link rules are read in full', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'src/b.js': 'b', 'src/c.js': 'c' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  await sleep(2100);
  const fingerprints = openReadFingerprints(db);
  await checksumSources(dir, ['.'], [], { fingerprints });
  db.prepare('UPDATE context_reads SET checksum = ?').run('sha256:forged');
  t.is(await checksumSources(dir, ['.'], [], { fingerprints }), 'sha256:forged');
  const others: [string[], string[], ChecksumOptions][] = [
    [['src'], [], {}],
    [['.'], ['src/c.js'], {}],
    [['.'], [], { mode: false }],
    [['.'], [], { owner: false }],
    [['.'], [], { followSymlinks: false }],
  ];
  for (const [src, excludes, o] of others) {
    t.is(await checksumSources(dir, src, excludes, { ...o, fingerprints }), await checksumSources(dir, src, excludes, o), JSON.stringify([src, excludes, o]));
  }
  const copy = contextDir({ 'a.txt': 'a', 'src/b.js': 'b', 'src/c.js': 'c' });
  t.teardown(() => rmSync(copy, { recursive: true }));
  t.is(await checksumSources(copy, ['.'], [], { fingerprints }), await checksumSources(dir, ['.'], []), 'another directory with the same files');
});

test('a file edited just before the read is kept when the build ends, once it has settled with the same stat data and bytes', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'src/b.js': 'b' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  await sleep(2100);
  writeFileSync(join(dir, 'src/b.js'), 'edited');
  // a second ahead: still fresh when this "build" ends, however slow the machine
  utimesSync(join(dir, 'src/b.js'), new Date(), new Date(Date.now() + 1000));
  const fingerprints = openReadFingerprints(db);
  const rows = () => (db.prepare('SELECT count(*) AS n FROM context_reads').get() as { n: number }).n;
  const sum = await checksumSources(dir, ['.'], [], { fingerprints });
  t.is(rows(), 0, 'not kept while src/b.js is fresh');
  fingerprints.settle();
  t.is(rows(), 0, 'still fresh at the end of a short build: not kept');

  const again = openReadFingerprints(db);
  t.is(await checksumSources(dir, ['.'], [], { fingerprints: again }), sum);
  writeFileSync(join(dir, 'src/b.js'), 'edited again');
  await sleep(2100);
  again.settle();
  t.is(rows(), 0, 'written after the read: its stat data is not what the fingerprint has');

  const third = openReadFingerprints(db);
  await sleep(10);
  writeFileSync(join(dir, 'a.txt'), 'A');
  const now = await checksumSources(dir, ['.'], [], { fingerprints: third });
  await sleep(2100);
  third.settle();
  t.is(rows(), 1, 'settled by the end of the build: kept');
  const parts: string[] = [];
  t.is(await checksumSources(dir, ['.'], [], { fingerprints: openReadFingerprints(db), onPart: (p) => void parts.push(p) }), now);
  t.deepEqual(parts, [], 'the next read is answered from the fingerprint');
  t.is(now, await checksumSources(dir, ['.'], []));
});

test('on a filesystem with sub-second timestamps an edit settles in a quarter of a second: a build shorter than 2 s keeps its fingerprint', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'src/b.js': 'b' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  await sleep(2100);
  writeFileSync(join(dir, 'src/b.js'), 'edited');
  const s = lstatSync(join(dir, 'src/b.js'));
  if (s.mtimeMs % 1000 === 0 || s.ctimeMs % 1000 === 0) return t.pass('whole-second timestamps here: the 2 s rule holds');
  const rows = () => (db.prepare('SELECT count(*) AS n FROM context_reads').get() as { n: number }).n;
  const fingerprints = openReadFingerprints(db);
  const sum = await checksumSources(dir, ['.'], [], { fingerprints });
  await sleep(400);
  fingerprints.settle();
  t.is(rows(), 1, 'kept at the end of a build of 0.4 s');
  const parts: string[] = [];
  t.is(await checksumSources(dir, ['.'], [], { fingerprints: openReadFingerprints(db), onPart: (p) => void parts.push(p) }), sum);
  t.deepEqual(parts, [], 'the no-change read after it is answered from the fingerprint');
  // a whole-second mtime (set by hand, or a coarse filesystem) waits the full 2 s
  writeFileSync(join(dir, 'a.txt'), 'A');
  utimesSync(join(dir, 'a.txt'), new Date(), new Date(Math.floor(Date.now() / 1000) * 1000));
  const coarse = openReadFingerprints(db);
  db.prepare('DELETE FROM context_reads').run();
  await checksumSources(dir, ['.'], [], { fingerprints: coarse });
  await sleep(400);
  coarse.settle();
  t.is(rows(), 0, 'not kept: a whole-second timestamp may be a coarse clock');
});

test('an entry left to settle() is kept only if its bytes still hash to what the checksum used', async (t) => {
  const dir = contextDir({ 'a.txt': 'a' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  await sleep(2100);
  const fingerprints = openReadFingerprints(db);
  const stat = lstatSync(join(dir, 'a.txt'));
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  fingerprints.setLater('r1', 'f', 'sha256:one', [{ abs: join(dir, 'a.txt'), stat, digest: sha('other bytes') }]);
  fingerprints.setLater('r2', 'f', 'sha256:two', [{ abs: join(dir, 'a.txt'), stat, digest: sha('a') }]);
  fingerprints.setLater('r3', 'f', 'sha256:three', [{ abs: join(dir, 'gone.txt'), stat, digest: sha('a') }]);
  fingerprints.settle();
  t.is(fingerprints.get('r1', 'f'), undefined, 'other bytes than the checksum hashed');
  t.is(fingerprints.get('r2', 'f'), 'sha256:two');
  t.is(fingerprints.get('r3', 'f'), undefined, 'a file gone since');
});
