// The layer gzip (src/compression): what gunzip and GNU gzip read back, the same bytes whatever the
// core count or the sizes the input arrives in, and random chunks stored rather than deflated.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { gzipChunkSize, looksRandom, parallelGzip, randomRuns } from '../../src/compression/index.ts';

/** 2.5 chunks of text, 3 of random bytes, then text again: both kinds, and a short last chunk. */
function layerLike(): Buffer {
  const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `line ${i} of a text file in a layer\n`).join(''));
  const t1 = text(80_000);
  return Buffer.concat([t1.subarray(0, Math.floor(2.5 * gzipChunkSize)), randomBytes(3 * gzipChunkSize), text(20_000)]);
}

async function gzip(input: Buffer, opts: { level?: number; concurrency?: number; piece: number }): Promise<Buffer> {
  const pieces = (function* () {
    for (let at = 0; at < input.length; at += opts.piece) yield input.subarray(at, at + opts.piece);
  })();
  const out: Buffer[] = [];
  for await (const b of parallelGzip(Readable.from(pieces), opts)) out.push(b);
  return Buffer.concat(out);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('gunzip gives back the input; GNU gzip -t accepts it', async (t) => {
  const input = layerLike();
  const out = await gzip(input, { piece: 64 << 10 });
  t.true(gunzipSync(out).equals(input));
  withGnuGzip(out, (file) => {
    const r = spawnSync('gzip', ['-t', file], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const l = spawnSync('gzip', ['-l', file], { encoding: 'utf8' });
    t.regex(l.stdout, new RegExp(`\\b${input.length}\\b`), 'the trailer holds the input size');
  });
});

/** `gz` written to a temp file for GNU gzip to check, removed after `check`. */
function withGnuGzip(gz: Buffer, check: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-gzip-'));
  try {
    writeFileSync(join(dir, 'layer.gz'), gz);
    check(join(dir, 'layer.gz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the same bytes whatever the core count and the sizes the input arrives in', async (t) => {
  const input = layerLike();
  const a = await gzip(input, { concurrency: 1, piece: 7777 });
  const b = await gzip(input, { concurrency: 2, piece: gzipChunkSize });
  const c = await gzip(input, { concurrency: 5, piece: 3 * gzipChunkSize + 1 });
  t.is(sha(a), sha(b));
  t.is(sha(a), sha(c));
});

test('several gzips at once (layers compressed in parallel) share the cores and each gives its own bytes', async (t) => {
  const input = layerLike();
  const alone = sha(await gzip(input, { piece: 1 << 16 }));
  const other = Buffer.from('another layer\n'.repeat(400_000));
  const [a, b, c] = await Promise.all([gzip(input, { concurrency: 4, piece: 1 << 16 }), gzip(other, { concurrency: 4, piece: 1 << 20 }), gzip(input, { concurrency: 3, piece: 12345 })]);
  t.is(sha(a), alone);
  t.is(sha(c), alone);
  t.true(gunzipSync(b).equals(other));
});

test('random chunks are stored (about their own size), text is deflated', async (t) => {
  const random = randomBytes(4 * gzipChunkSize);
  const stored = await gzip(random, { piece: gzipChunkSize });
  // 5 bytes per 64 KiB stored block, 18 of header and trailer: nothing deflate would add
  t.is(stored.length, random.length + 5 * Math.ceil(gzipChunkSize / 0xffff) * 4 + 10 + 13);
  t.true(gunzipSync(stored).equals(random));
  const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(100_000));
  t.true((await gzip(text, { piece: 1 << 16 })).length < text.length / 20);
});

test('looksRandom: random bytes yes; text, zeros, a tar header amid random bytes no', (t) => {
  t.true(looksRandom(randomBytes(gzipChunkSize)));
  t.false(looksRandom(Buffer.alloc(gzipChunkSize)));
  t.false(looksRandom(Buffer.from('abcdefghij'.repeat(gzipChunkSize / 10))));
  const withHeader = randomBytes(gzipChunkSize);
  withHeader.fill(0, 0, 512);
  t.false(looksRandom(withHeader));
  t.false(looksRandom(randomBytes(1000)), 'too short to judge: deflated');
});

test('level 0 stores everything; an empty input is a valid empty gzip', async (t) => {
  const text = Buffer.from('abc\n'.repeat(300_000));
  const out = await gzip(text, { level: 0, piece: 1 << 16 });
  t.true(out.length > text.length);
  t.true(gunzipSync(out).equals(text));
  t.is(gunzipSync(await gzip(Buffer.alloc(0), { piece: 1 })).length, 0);
});

test('a chunk of both kinds: its random 64 KiB segments stored, the rest deflated, and gunzip gives it back', async (t) => {
  // as a 4 MB random file's first MiB: a tar header and a text file, then the random bytes
  const text = Buffer.from('a line of a small text file before the random one\n'.repeat(3000));
  const chunk = Buffer.concat([text.subarray(0, 100_000), randomBytes(gzipChunkSize - 100_000)]);
  t.deepEqual(
    randomRuns(chunk).map((r) => [r.start, r.end, r.random]),
    [
      [0, 128 << 10, false],
      [128 << 10, gzipChunkSize, true],
    ],
  );
  // and a random file's last MiB, text after it
  const tail = Buffer.concat([randomBytes(700_000), text.subarray(0, gzipChunkSize - 700_000)]);
  t.deepEqual(randomRuns(tail).map((r) => r.random), [true, false]);
  const input = Buffer.concat([text.subarray(0, 60_000), chunk, tail, chunk]);
  const a = await gzip(input, { concurrency: 1, piece: 4099 });
  const b = await gzip(input, { concurrency: 3, piece: gzipChunkSize });
  t.is(sha(a), sha(b));
  t.true(gunzipSync(a).equals(input));
  withGnuGzip(a, (file) => {
    const r = spawnSync('gzip', ['-t', file], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
  });
});
