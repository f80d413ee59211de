// Listings of context reads (src/context/listing.ts): made from the very parts checksumSources
// hashes, so what a miss names is what changed the checksum.
import test from 'ava';
import { chmodSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
