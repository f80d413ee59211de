// Content checksums: which bytes a COPY's cache key depends on, and the stat cache that spares
// re-reading them.
import test from 'ava';
import { lstatSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checksumSources, openFileDigestCache, selectSources, type FileDigestCache } from '../../src/context/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import { contextDir as filesDir } from '../_support/tsbuild.ts';

/** The shared contextDir, plus symlinks (path → target). */
function contextDir(files: Record<string, string>, links: Record<string, string> = {}): string {
  const dir = filesDir(files);
  for (const [p, target] of Object.entries(links)) symlinkSync(target, join(dir, p));
  return dir;
}

test('R1: a followed symlink source is hashed as its target, so editing the target misses the cache', async (t) => {
  const dir = contextDir({ 'real.txt': 'AAAA\n', 'sub/x': 'x' }, { link: 'real.txt', dirlink: 'sub' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const followed = () => checksumSources(dir, ['link', 'dirlink'], [], { followSymlinks: true });
  const asLinks = () => checksumSources(dir, ['link', 'dirlink'], [], { followSymlinks: false });
  const f1 = await followed();
  const l1 = await asLinks();
  writeFileSync(join(dir, 'real.txt'), 'BBBB\n');
  t.not(await followed(), f1, 'COPY link /out copies real.txt: its bytes are in the key');
  t.is(await asLinks(), l1, 'a copy that keeps the link does not read real.txt');
  writeFileSync(join(dir, 'sub/x'), 'y');
  t.not(await followed(), f1, 'a link to a directory stands for the directory');
  rmSync(join(dir, 'link'));
  symlinkSync('sub/x', join(dir, 'link'));
  t.not(await asLinks(), l1, 'the link target is in the key of a copy that keeps the link');
});

test('selectSources resolves sources as the copy reads them; a dangling followed link is a missing source', (t) => {
  const dir = contextDir({ 'real.txt': 'A', 'a1': '', 'a2': '' }, { link: 'real.txt', dangling: 'nowhere', 'a3': 'real.txt' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const [followed] = selectSources(dir, ['link'], [], { followSymlinks: true });
  t.is(followed.host, join(dir, 'real.txt'));
  t.true(followed.stat.isFile());
  const [kept] = selectSources(dir, ['link'], [], { followSymlinks: false });
  t.is(kept.host, join(dir, 'link'));
  t.true(kept.stat.isSymbolicLink());
  t.deepEqual(selectSources(dir, ['a*'], [], { followSymlinks: true }).map((s) => [s.rel, s.stat.isFile()]), [['a1', true], ['a2', true], ['a3', true]]);
  t.throws(() => selectSources(dir, ['dangling'], [], { followSymlinks: true }), { message: '"dangling" is a symlink to a path not found in the build context' });
  t.true(selectSources(dir, ['dangling'], [], { followSymlinks: false })[0].stat.isSymbolicLink());
});

test('a known file is not read again: its digest comes from the stat cache', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'b.txt': 'b' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const plain = await checksumSources(dir, ['.'], []);
  const known = new Map<string, string>();
  const cache: FileDigestCache = {
    get: (s) => known.get(`${s.ino}`),
    set: (s, hex) => known.set(`${s.ino}`, hex),
    flush: () => {},
  };
  t.is(await checksumSources(dir, ['.'], [], { cache }), plain, 'the cache does not change the checksum');
  t.is(known.size, 2);
  // a lie in the cache shows it was believed rather than the file read
  for (const k of known.keys()) known.set(k, '0'.repeat(64));
  t.not(await checksumSources(dir, ['.'], [], { cache }), plain);
});

test('the stat cache in the metadata db: remembered across opens, keyed by inode and stat, fresh writes not trusted', async (t) => {
  const dir = contextDir({ 'old.txt': 'old', 'new.txt': 'new' });
  const dbDir = mkdtempSync(join(tmpdir(), 'tsbuild-db-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true });
    rmSync(dbDir, { recursive: true });
  });
  const plain = await checksumSources(dir, ['.'], []);
  await sleep(2100);
  writeFileSync(join(dir, 'new.txt'), 'NEW');
  utimesSync(join(dir, 'new.txt'), 1000, 1000); // an old mtime; its ctime is still now
  const db = openDatabase(join(dbDir, 'meta.db'));
  t.teardown(() => db.close());
  const sum = await checksumSources(dir, ['.'], [], { cache: openFileDigestCache(db) });
  t.not(sum, plain);
  const rows = db.prepare('SELECT file, stat, digest FROM file_digests').all() as { digest: string }[];
  t.deepEqual(rows.map((r) => r.digest), [sha('old')], 'only the settled file is remembered');
  t.is(await checksumSources(dir, ['.'], [], { cache: openFileDigestCache(db) }), sum);
  writeFileSync(join(dir, 'old.txt'), 'OLD');
  t.not(await checksumSources(dir, ['.'], [], { cache: openFileDigestCache(db) }), sum, 'a rewrite changes ctime: read again');
});

test('the stat cache answers from the whole table read once or from a query per file alike', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'b.txt': 'b' });
  const dbDir = mkdtempSync(join(tmpdir(), 'tsbuild-db-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true });
    rmSync(dbDir, { recursive: true });
  });
  const db = openDatabase(join(dbDir, 'meta.db'));
  t.teardown(() => db.close());
  const plain = await checksumSources(dir, ['.'], []);
  const otherDir = contextDir({ 'a.txt': 'a', 'b.txt': 'B' });
  t.teardown(() => rmSync(otherDir, { recursive: true }));
  const other = await checksumSources(otherDir, ['.'], []);
  // a row for b.txt's exact stat that says "B": only a cache hit can make the checksum read B
  const s = lstatSync(join(dir, 'b.txt'), { bigint: true });
  const row = db.prepare('INSERT INTO file_digests (file, stat, digest) VALUES (?, ?, ?)');
  row.run(`${s.dev}:${s.ino}`, `${s.size}:${s.mtimeNs}:${s.ctimeNs}`, sha('B'));
  const a = lstatSync(join(dir, 'a.txt'), { bigint: true });
  row.run(`${a.dev}:${a.ino}`, `${a.size}:${a.mtimeNs}:${a.ctimeNs + 1n}`, sha('stale'));
  for (const wholeTableLimit of [200_000, 0]) {
    t.is(await checksumSources(dir, ['.'], [], { cache: openFileDigestCache(db, { wholeTableLimit }) }), other, `hit (limit ${wholeTableLimit})`);
  }
  db.prepare('DELETE FROM file_digests').run();
  t.is(await checksumSources(dir, ['.'], [], { cache: openFileDigestCache(db) }), plain);
});

test('many files hash in parallel to the same checksum, in order, with and without cache hits', async (t) => {
  const files: Record<string, string> = {};
  for (let d = 0; d < 10; d++) for (let f = 0; f < 30; f++) files[`d${d}/f${f}`] = `${d}/${f}`.repeat(f);
  const dir = contextDir(files);
  t.teardown(() => rmSync(dir, { recursive: true }));
  const known = new Map<string, string>();
  let i = 0;
  // every other file known: hits (sync) and reads (async) interleave in the queue
  const cache: FileDigestCache = { get: (s) => known.get(`${s.ino}`), set: (s, hex) => void (i++ % 2 === 0 && known.set(`${s.ino}`, hex)), flush: () => {} };
  const first = await checksumSources(dir, ['.'], [], { cache });
  t.is(known.size, 150);
  t.is(await checksumSources(dir, ['.'], [], { cache }), first);
  t.is(await checksumSources(dir, ['.'], []), first);
  writeFileSync(join(dir, 'd9/f29'), 'changed');
  t.not(await checksumSources(dir, ['.'], []), first);
});

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

test('a cancelled build stops hashing its context: the checksum rejects with the abort, mid-walk or before', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-ck-abort-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 2000; i++) writeFileSync(join(dir, `f${i}`), `file ${i}\n`.repeat(50));
  const before = new AbortController();
  before.abort(new Error('cancelled before'));
  await t.throwsAsync(checksumSources(dir, ['/'], [], { signal: before.signal }), { message: 'cancelled before' });
  const during = new AbortController();
  const sum = checksumSources(dir, ['/'], [], { signal: during.signal });
  setImmediate(() => during.abort(new Error('cancelled during')));
  await t.throwsAsync(sum, { message: 'cancelled during' });
  // not cancelled, the same tree still hashes
  t.regex(await checksumSources(dir, ['/'], []), /^sha256:[0-9a-f]{64}$/);
});
