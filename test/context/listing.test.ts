// Listings of context reads (src/context/listing.ts): made from the very parts checksumSources
// hashes, so what a miss names is what changed the checksum.
import test from 'ava';
import { chmodSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { checksumSources, createListingCollector, decodeListing, describeListingChanges, diffListings, encodeListing, type Listing } from '../../src/context/index.ts';
import { contextDir } from '../_support/tsbuild.ts';

async function listingOf(dir: string, src: string[]): Promise<{ sum: string; listing: Listing }> {
  const c = createListingCollector();
  const sum = await checksumSources(dir, src, [], { onPart: c.onPart });
  return { sum, listing: c.listing()! };
}

test('a listing names every entry a checksum covered, with type, mode and a content id', async (t) => {
  const dir = contextDir({ 'src/app.js': 'one\n', 'src/lib/x.js': 'x\n', 'run.sh': 'echo\n' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  symlinkSync('app.js', join(dir, 'src/link'));
  chmodSync(join(dir, 'run.sh'), 0o755);
  const { listing } = await listingOf(dir, ['src', 'run.sh']);
  const byPath = new Map(listing.map((l) => [l.split('\0')[0], l.split('\0').slice(1)]));
  t.deepEqual([...byPath.keys()], ['run.sh', 'src', 'src/app.js', 'src/lib', 'src/lib/x.js', 'src/link'], 'sorted by path');
  t.deepEqual(byPath.get('run.sh')?.slice(0, 3), ['file', '755', '0:0']);
  t.deepEqual(byPath.get('src/lib'), ['dir', '755', '0:0', '']);
  t.is(byPath.get('src/link')?.[0], 'symlink');
  t.regex(byPath.get('src/app.js')?.[3] ?? '', /^[0-9a-f]{16}$/);
  t.deepEqual(decodeListing(encodeListing(listing)), listing, 'stored and read back unchanged');
});

test('a path two sources select is listed once, and a listing read back is the same lines', async (t) => {
  const dir = contextDir({ 'src/app.js': 'one\n', 'src/lib/x.js': 'x\n' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const { listing } = await listingOf(dir, ['src/lib/x.js', 'src']);
  t.deepEqual(listing.map((l) => l.split('\0')[0]), ['src', 'src/app.js', 'src/lib', 'src/lib/x.js']);
  const back = decodeListing(encodeListing(listing));
  t.deepEqual(back, listing);
  t.true(back.every((l) => l.split('\0').length === 5), 'five fields a line, the empty content of a dir too');
  t.deepEqual(decodeListing(encodeListing([])), []);
});

test('whatever changes the checksum shows in the diff of the listings, a touch in neither', async (t) => {
  const dir = contextDir({ 'src/app.js': 'one\n', 'src/old.js': 'old\n', 'run.sh': 'echo\n' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const before = await listingOf(dir, ['.']);
  const now = new Date(Date.now() + 10_000);
  const { utimesSync } = await import('node:fs');
  utimesSync(join(dir, 'src/app.js'), now, now);
  const touched = await listingOf(dir, ['.']);
  t.is(touched.sum, before.sum);
  t.deepEqual(diffListings(before.listing, touched.listing), []);

  writeFileSync(join(dir, 'src/app.js'), 'two\n');
  chmodSync(join(dir, 'run.sh'), 0o700);
  writeFileSync(join(dir, 'src/new.js'), 'new\n');
  unlinkSync(join(dir, 'src/old.js'));
  const after = await listingOf(dir, ['.']);
  t.not(after.sum, before.sum);
  const changes = diffListings(before.listing, after.listing);
  t.deepEqual(changes.map((c) => `${c.change} ${c.path}`), ['mode run.sh', 'content src/app.js', 'added src/new.js', 'removed src/old.js']);
  t.is(describeListingChanges(changes.slice(0, 3)), 'mode of run.sh changed (644 → 700), src/app.js content changed, added src/new.js');
  t.is(describeListingChanges(changes), '4 files (2 changed, 1 added, 1 removed: run.sh, src/app.js, src/new.js, …)');
});

test('many changes are counted under their common directory', (t) => {
  const lines = (paths: string[], content: string): Listing => paths.map((p) => `${p}\x00file\x00644\x000:0\x00${content}`).sort();
  const before = lines(['a/b/1', 'a/b/2', 'a/b/c/3', 'a/b/4'], 'x');
  const after = lines(['a/b/1', 'a/b/2', 'a/b/c/3', 'a/b/5'], 'y');
  t.is(describeListingChanges(diffListings(before, after)), '5 files under a/b/ (3 changed, 1 added, 1 removed: a/b/1, a/b/2, a/b/4, …)');
});

test('a file name with a newline is one entry, stored and read back', async (t) => {
  const dir = contextDir({ 'a\nb.txt': 'x', 'c.txt': 'y' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const { listing } = await listingOf(dir, ['.']);
  const back = decodeListing(encodeListing(listing));
  t.deepEqual(back, listing);
  t.deepEqual(diffListings(back, listing.filter((l) => !l.startsWith('a\nb.txt'))), [{ path: 'a\nb.txt', change: 'removed' }]);
});

test('a read of more entries than a collector holds is not listed, and its checksum is the same', async (t) => {
  const dir = contextDir({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
  t.teardown(() => rmSync(dir, { recursive: true }));
  const small = createListingCollector({ maxParts: 4 });
  const sum = await checksumSources(dir, ['.'], [], { onPart: small.onPart });
  t.is(small.listing(), undefined);
  t.is(sum, await checksumSources(dir, ['.'], []));
});

test('a big read is listed whole: every entry once, in order, with its own content id', async (t) => {
  // past the collector's 64 KB chunks several times over: lines keep their ends where chunks meet
  const files: Record<string, string> = {};
  for (let i = 0; i < 3000; i++) files[`dir-${i % 7}/a-file-with-a-rather-long-name-${String(i).padStart(5, '0')}.txt`] = `content ${i}\n`;
  const dir = contextDir(files);
  t.teardown(() => rmSync(dir, { recursive: true }));
  symlinkSync('dir-0', join(dir, 'link'));
  const { listing } = await listingOf(dir, ['.', 'dir-3', 'link']);
  const paths = listing.map((l) => l.split('\0')[0]);
  // the link followed lists dir-0's 429 files again under link/; the paths dir-3 selects again are listed once
  t.is(listing.length, 1 + 7 + 3000 + 1 + 429, 'the root, 7 dirs, 3000 files, the link and what is below it, each once');
  t.deepEqual(paths, [...paths].sort());
  t.is(new Set(paths).size, paths.length);
  for (const [i, line] of listing.entries()) t.is(line.split('\0').length, 5, `line ${i} has five fields`);
  const id = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
  const byPath = new Map(listing.map((l) => [l.split('\0')[0], l.split('\0')]));
  t.is(byPath.get('dir-3/a-file-with-a-rather-long-name-00003.txt')?.[4], id('content 3\n'));
  t.is(byPath.get('dir-3/a-file-with-a-rather-long-name-02999.txt')?.[4], id('content 2999\n'));
  t.is(byPath.get('link')?.[1], 'symlink', 'the first source\'s line for a path stands');
  t.is(byPath.get('link/a-file-with-a-rather-long-name-00007.txt')?.[4], id('content 7\n'));
  t.deepEqual(decodeListing(encodeListing(listing)), listing);
});
