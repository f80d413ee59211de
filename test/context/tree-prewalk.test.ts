// The context's walk started at start-up: its hash answers an unchanged read, anything that changes
// the read misses it, and excluded trees it did not walk count only for reads that exclude them.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { checksumSources, forgetPrewalk, notePrewalkWanted, openFileDigestCache, openReadFingerprints, prewalkCovers, prewalkMinEntries, prewalkWanted, startTreePrewalk, type TreePrewalk } from '../../src/context/index.ts';
import { openDatabase, type Database } from '../../src/state/index.ts';
import { contextDir } from '../_support/tsbuild.ts';
import { openTempDatabase } from '../_support/temp-database.ts';
import { contextEdits } from '../_support/context-edits.ts';

const openDb = openTempDatabase;

function prewalk(t: { teardown(fn: () => void): void }, dir: string, patterns: string[] = []): TreePrewalk {
  const p = startTreePrewalk(dir, patterns);
  t.teardown(() => p.dispose());
  return p;
}

test('an unchanged tree answers a read from the prewalk; every kind of change misses it and gives the checksum of the tree as it is', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'src/b.js': 'b', 'src/c.js': 'c', 'd/x': 'x', 'e/y': 'y' });
  symlinkSync('d', join(dir, 'link'));
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  const treeRows = () => db.prepare("SELECT count(*) AS n FROM context_reads WHERE read LIKE '%:tree'").get() as { n: number };
  const edit = contextEdits(dir);
  const changes: [string, () => void, string[]][] = [
    ['content', edit.content, ['.']],
    ['mode', edit.mode, ['src', 'a.txt']],
    ['added', edit.added, ['src']],
    ['removed', edit.removed, ['.']],
    ['followed link retargeted', edit.linkRetargeted, ['link']],
  ];
  for (const [what, change, src] of changes) {
    // settled (timestamps older than the settle time), then read once: kept with the tree's hash
    await sleep(2100);
    const opts = () => ({ fingerprints: openReadFingerprints(db), cache: openFileDigestCache(db), prewalk: prewalk(t, dir) });
    const kept = await checksumSources(dir, src, [], opts());
    t.true(treeRows().n > 0, `${what}: the tree's hash is kept`);
    // a checksum no hash could give: only the prewalk's row can answer with it
    db.prepare("UPDATE context_reads SET checksum = 'sha256:forged' WHERE read LIKE '%:tree'").run();
    t.is(await checksumSources(dir, src, [], opts()), 'sha256:forged', `${what}: answered from the prewalk`);
    db.prepare("UPDATE context_reads SET checksum = ? WHERE read LIKE '%:tree'").run(kept);
    change();
    const now = await checksumSources(dir, src, [], opts());
    t.not(now, kept, `${what}: changes the checksum`);
    t.is(now, await checksumSources(dir, src, []), `${what}: the checksum of the tree as it is now`);
  }
});

test('a change outside what a read selects only misses the prewalk: the read\'s own fingerprint answers, and the new hash is kept', async (t) => {
  const dir = contextDir({ 'Dockerfile': 'FROM scratch\n', 'src/b.js': 'b' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const db = openDb(t);
  await sleep(2100);
  const parts: string[] = [];
  const opts = () => ({ fingerprints: openReadFingerprints(db), prewalk: prewalk(t, dir), onPart: (p: string) => void parts.push(p) });
  const sum = await checksumSources(dir, ['src'], [], opts());
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY src /\n');
  const before = db.prepare("SELECT fingerprint FROM context_reads WHERE read LIKE '%:tree'").get() as { fingerprint: string };
  parts.length = 0;
  t.is(await checksumSources(dir, ['src'], [], opts()), sum);
  t.deepEqual(parts, [], 'no part hashed: the read\'s own fingerprint answered');
  const after = db.prepare("SELECT fingerprint FROM context_reads WHERE read LIKE '%:tree'").get() as { fingerprint: string };
  t.not(after.fingerprint, before.fingerprint, 'the tree\'s hash of now is kept');
});

test('directories excluded by a literal pattern are not walked, and then the hash answers only reads that exclude them too', async (t) => {
  const dir = contextDir({ 'app.js': 'a', 'node_modules/m/index.js': 'm', 'lib/.cache/c': 'c', 'lib/l.js': 'l' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const patterns = ['node_modules', '**/.cache', '*.log'];
  const first = prewalk(t, dir, patterns);
  t.deepEqual(first.pruned, ['node_modules', '**/.cache']);
  const hash = await first.hash();
  t.truthy(hash);
  writeFileSync(join(dir, 'node_modules/m/index.js'), 'changed');
  writeFileSync(join(dir, 'lib/.cache/c'), 'changed');
  mkdirSync(join(dir, 'node_modules/n'));
  t.is(await prewalk(t, dir, patterns).hash(), hash, 'what is pruned is not in the hash');
  writeFileSync(join(dir, 'lib/l.js'), 'changed');
  t.not(await prewalk(t, dir, patterns).hash(), hash);

  t.true(prewalkCovers(first, dir, patterns));
  t.true(prewalkCovers(first, `${dir}/`, ['*.log', '**/.cache', 'node_modules', 'more']));
  t.false(prewalkCovers(first, dir, ['node_modules']), 'a read that does not exclude **/.cache');
  t.false(prewalkCovers(first, dir, [...patterns, '!node_modules/keep']), 'a read that re-includes something');
  t.false(prewalkCovers(first, join(dir, 'lib'), patterns), 'another directory');
  // an exception anywhere: nothing is pruned, the hash covers every read of the directory
  const whole = prewalk(t, dir, ['node_modules', '!node_modules/keep']);
  t.deepEqual(whole.pruned, []);
  t.true(prewalkCovers(whole, dir, []));
});

test('a walk that fails or is disposed answers nothing', async (t) => {
  t.is(await prewalk(t, '/nonexistent/tsbuild-context').hash(), undefined);
  const dir = contextDir({ 'a.txt': 'a' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const p = prewalk(t, dir);
  p.dispose();
  t.is(await p.hash(), undefined);
  const aborted = new AbortController();
  aborted.abort();
  t.is(await prewalk(t, dir).hash(aborted.signal), undefined);
});

test('a state root prewalks a context once it saw a big read of it, and stops when the walk lists far more than its reads', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-root-'));
  t.teardown(() => rmSync(root, { recursive: true }));
  const files: Record<string, string> = {};
  for (let i = 0; i < 3000; i++) files[`f/${i}`] = '';
  const dir = contextDir(files);
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.is(prewalkWanted(root, dir), undefined);
  notePrewalkWanted(root, dir, prewalkMinEntries - 1);
  t.is(prewalkWanted(root, dir), undefined, 'a small read: walked in less than find costs');
  notePrewalkWanted(root, dir, 2000);
  notePrewalkWanted(root, dir, 1500);
  t.is(prewalkWanted(root, dir), 2000, 'the biggest read is remembered');
  t.is(prewalkWanted(root, `${dir}/f`), undefined, 'per directory');

  let tooBig = 0;
  const fits = startTreePrewalk(dir, [], { reads: 3001, onTooBig: () => tooBig++ });
  t.teardown(() => fits.dispose());
  t.truthy(await fits.hash());
  t.is(tooBig, 0, '3,002 entries listed for reads of 3,001');
  const over = startTreePrewalk(dir, [], { reads: 1000, onTooBig: () => forgetPrewalk(root, dir) });
  t.teardown(() => over.dispose());
  t.is(await over.hash(), await fits.hash(), 'the hash still stands');
  t.is(prewalkWanted(root, dir), undefined, '3,002 entries listed for reads of 1,000: no more prewalks');
});

test('a pattern naming the context directory itself at any depth prunes nothing: the walk still sees every change', async (t) => {
  const parent = contextDir({ 'app/src/a.js': 'a', 'app/src/app/b.js': 'b' });
  t.teardown(() => rmSync(parent, { recursive: true }));
  const dir = join(parent, 'app');
  const walk = prewalk(t, dir, ['**/app']);
  t.deepEqual(walk.pruned, [], 'find tests -name on the directory itself: pruning would list nothing');
  const hash = await walk.hash();
  writeFileSync(join(dir, 'src/a.js'), 'changed');
  t.not(await prewalk(t, dir, ['**/app']).hash(), hash);
});
