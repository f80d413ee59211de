// SOURCE_DATE_EPOCH's clamp of a layer tar's times (worker/layer/clamp-times.ts), checked by GNU tar
// (a reader and writer nobody here wrote): times later than the epoch become the epoch, earlier
// ones stay, in ustar headers, PAX records (mtime with a fraction, atime, ctime) and GNU long-name
// tars alike; file contents, names and checksums survive; a tar with nothing to clamp is the same bytes.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createTimeClamp } from '../../worker/layer/clamp-times.ts';
import { createLayerTar } from '../../worker/layer/layer-tar.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

const epoch = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const old = new Date('2001-02-03T04:05:06.250Z');
const recent = new Date('2025-06-07T08:09:10.750Z');
const longName = `${'long-'.repeat(30)}name.txt`;

const work = tempDir('tsbuild-clamp-');
test.after.always(() => removeDir(work));

/** A tree with old and recent files, a long name, a symlink and a big file (its body spans chunks). */
function makeTree(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'old.txt'), 'old\n');
  writeFileSync(join(dir, 'sub', 'new.txt'), 'new\n');
  writeFileSync(join(dir, longName), 'long\n');
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(300_000, 7));
  symlinkSync('sub/new.txt', join(dir, 'link'));
  for (const f of ['sub/new.txt', longName, 'big.bin', 'sub', '.']) utimesSync(join(dir, f), recent, recent);
  utimesSync(join(dir, 'old.txt'), old, old);
  execFileSync('touch', ['-h', '-d', recent.toISOString(), join(dir, 'link')]);
  return dir;
}

/** The tar through the clamp, fed in small uneven chunks so headers and PAX blocks straddle them. */
async function clamp(tar: Buffer, chunk = 333): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < tar.length; i += chunk) parts.push(tar.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(createTimeClamp(epoch))) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** `tar tv --full-time` as "time name" lines (GNU tar checks every header's checksum as it reads). */
function listing(tarPath: string): Map<string, string> {
  const lines = execFileSync('tar', ['-tv', '--full-time', '--utc', '-f', tarPath], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).trim().split('\n');
  return new Map(lines.map((l) => {
    const m = /^\S+ \S+ +\d+ (\S+ \S+) +(.*?)(?: -> .*)?$/.exec(l);
    if (!m) throw new Error(`unexpected tar line: ${l}`);
    return [m[2].replace(/^\.\//, ''), m[1]];
  }));
}

for (const format of ['posix', 'gnu', 'ustar'] as const) {
  test(`GNU tar --format=${format}: later times clamped, earlier kept, contents intact`, async (t) => {
    const dir = makeTree(`tree-${format}`);
    const src = join(work, `${format}.tar`);
    // ustar cannot hold the long name: left out there
    const members = format === 'ustar' ? ['old.txt', 'sub', 'big.bin', 'link'] : ['old.txt', 'sub', 'big.bin', 'link', longName];
    execFileSync('tar', ['--format', format, '--sort=name', '-cf', src, '-C', dir, ...members]);
    const clamped = await clamp(readFileSync(src));
    const dest = join(work, `${format}-clamped.tar`);
    writeFileSync(dest, clamped);
    const times = listing(dest);
    // (PAX keeps the fraction of a second)
    t.is(times.get('old.txt'), format === 'posix' ? '2001-02-03 04:05:06.25' : '2001-02-03 04:05:06', 'an earlier time stays');
    for (const name of ['sub/', 'sub/new.txt', 'big.bin', 'link', ...(format === 'ustar' ? [] : [longName])]) {
      t.is(times.get(name), '2023-11-14 22:13:20', `${name} is clamped`);
    }
    const out = join(work, `${format}-out`);
    mkdirSync(out);
    execFileSync('tar', ['-xf', dest, '-C', out]);
    t.deepEqual(readFileSync(join(out, 'big.bin')), Buffer.alloc(300_000, 7));
    t.is(readFileSync(join(out, 'sub', 'new.txt'), 'utf8'), 'new\n');
    if (format !== 'ustar') t.is(readFileSync(join(out, longName), 'utf8'), 'long\n');
    if (format === 'posix') {
      // the PAX records themselves: no time later than the epoch is left, fractions and all
      const records = clamped.toString('latin1').match(/\d+ [acm]time=[-\d.]+\n/g) ?? [];
      t.true(records.length > 0, 'GNU tar wrote PAX time records');
      t.true(records.every((r) => Number(r.split('=')[1]) <= epoch), records.join(''));
      t.true(records.some((r) => r.endsWith(`time=${epoch}\n`)));
    }
  });
}

test('the layer tar tsbuild writes: clamped in its ustar and PAX headers alike; nothing to clamp gives the same bytes', async (t) => {
  const dir = makeTree('layer');
  const tar = Buffer.concat(await createLayerTar(dir).toArray());
  const dest = join(work, 'layer-clamped.tar');
  writeFileSync(dest, await clamp(tar, 4096));
  const times = listing(dest);
  t.is(times.get('old.txt'), '2001-02-03 04:05:06');
  t.is(times.get(longName), '2023-11-14 22:13:20');
  t.is(times.get('sub/new.txt'), '2023-11-14 22:13:20');

  const older = makeTree('older');
  for (const f of ['sub/new.txt', longName, 'big.bin', 'sub', 'old.txt']) utimesSync(join(older, f), old, old);
  execFileSync('touch', ['-h', '-d', old.toISOString(), join(older, 'link')]);
  const untouched = Buffer.concat(await createLayerTar(older).toArray());
  t.deepEqual(await clamp(untouched), untouched, 'every time is earlier: the same bytes');
});

test('a tar cut off in an entry is refused, not passed on', async (t) => {
  const dir = makeTree('cut');
  const tar = Buffer.concat(await createLayerTar(dir).toArray());
  await t.throwsAsync(clamp(tar.subarray(0, 2048 + 100)), { message: /layer tar: it ends in the middle of an entry/ });
});

test('an old GNU sparse entry with extension blocks: its blocks are followed, the file comes back whole', async (t) => {
  const dir = join(work, 'sparse');
  mkdirSync(dir);
  // ten data runs between holes: more than the 4 the header holds, so extension blocks follow it
  const file = join(dir, 'holes.bin');
  writeFileSync(file, '');
  for (let i = 0; i < 10; i++) execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=4096', 'count=1', `seek=${i * 64}`, 'conv=notrunc', 'status=none']);
  utimesSync(file, recent, recent);
  writeFileSync(join(dir, 'after.txt'), 'after\n');
  utimesSync(join(dir, 'after.txt'), recent, recent);
  const src = join(work, 'sparse.tar');
  execFileSync('tar', ['--format', 'oldgnu', '--sparse', '-cf', src, '-C', dir, 'holes.bin', 'after.txt']);
  const tarBytes = readFileSync(src);
  t.is(String.fromCharCode(tarBytes[156]), 'S', 'GNU tar wrote a sparse entry');
  t.not(tarBytes[482], 0, 'with extension blocks');
  const dest = join(work, 'sparse-clamped.tar');
  writeFileSync(dest, await clamp(tarBytes));
  const times = listing(dest);
  t.is(times.get('holes.bin'), '2023-11-14 22:13:20');
  t.is(times.get('after.txt'), '2023-11-14 22:13:20', 'the entry after the sparse one is found and clamped');
  const out = join(work, 'sparse-out');
  mkdirSync(out);
  execFileSync('tar', ['-xf', dest, '-C', out]);
  t.deepEqual(readFileSync(join(out, 'holes.bin')), readFileSync(file));
});
