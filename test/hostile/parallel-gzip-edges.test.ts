// Edge inputs to the layer gzip (src/compression/parallel-gzip.ts): sizes at and around every
// boundary it has (stored block, window, chunk), all-random and alternating random/text chunks, in
// pieces of odd sizes. GNU gzip must accept every output and give back the input byte for byte, the
// bytes must not depend on the piece sizes or the concurrency, and a failing source must fail the
// gzip instead of hanging it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createParallelGzip, gzipChunkSize, looksRandom, parallelGzip } from '../../src/compression/index.ts';

const MiB = gzipChunkSize;

/** Seeded random bytes (sha256 in counter mode): the same "random" input on every run. */
function pseudoRandom(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  for (let at = 0, i = 0; at < n; at += 32, i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, at);
  return out;
}

const text = (n: number) => Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n'.repeat(Math.ceil(n / 55))).subarray(0, n);

async function gzip(input: Buffer, piece: number, concurrency?: number): Promise<Buffer> {
  const pieces = (function* () {
    for (let at = 0; at < input.length; at += piece) yield input.subarray(at, at + piece);
  })();
  const out: Buffer[] = [];
  for await (const b of parallelGzip(Readable.from(pieces), { concurrency })) out.push(b);
  return Buffer.concat(out);
}

/** GNU gzip's verdict (`gzip -t`) and what `gzip -dc` gives back. */
function gnuGunzip(gz: Buffer): { ok: boolean; out: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-gzip-edges-'));
  try {
    const file = join(dir, 'x.gz');
    writeFileSync(file, gz);
    const check = spawnSync('gzip', ['-t', file]);
    const out = spawnSync('gzip', ['-dc', file], { maxBuffer: 64 << 20 });
    return { ok: check.status === 0 && out.status === 0, out: out.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cases: Record<string, () => Buffer> = {
  'empty': () => Buffer.alloc(0),
  '1 byte': () => Buffer.from('x'),
  '1 random byte': () => pseudoRandom(1, 'a'),
  '65535 bytes (one stored block)': () => pseudoRandom(65535, 'b'),
  '32 KiB - 1 random (too short to test)': () => pseudoRandom(32767, 'c'),
  '32 KiB random (the shortest stored chunk)': () => pseudoRandom(32768, 'd'),
  '1 MiB - 1 text': () => text(MiB - 1),
  'exactly one chunk of text': () => text(MiB),
  'exactly one random chunk': () => pseudoRandom(MiB, 'e'),
  'one chunk + 1 byte, random': () => pseudoRandom(MiB + 1, 'f'),
  'two chunks + 65535 random': () => pseudoRandom(2 * MiB + 65535, 'g'),
  'random, text, random, text, then 1 byte': () => Buffer.concat([pseudoRandom(MiB, 'h'), text(MiB), pseudoRandom(MiB, 'i'), text(MiB), Buffer.from('z')]),
  'text, then random with a text tail inside the last window': () => Buffer.concat([text(MiB), pseudoRandom(MiB - 100, 'j'), text(100 + 40_000)]),
  'zeros, 3 chunks and a bit': () => Buffer.alloc(3 * MiB + 12345),
};

for (const [name, make] of Object.entries(cases)) {
  test(`gzip -t accepts it and gives back every byte: ${name}`, async (t) => {
    const input = make();
    const whole = await gzip(input, Math.max(1, input.length));
    const r = gnuGunzip(whole);
    t.true(r.ok, 'gzip -t');
    t.true(r.out.equals(input), 'byte-exact roundtrip');
    // the same bytes in pieces of odd sizes and with one core or four
    for (const [piece, concurrency] of [[7, 1], [65536, 4], [MiB - 1, 2], [MiB + 1, 1]] as const) {
      if (piece === 7 && input.length > 200_000) continue; // 7-byte pieces of megabytes: slow, nothing new
      t.true((await gzip(input, piece, concurrency)).equals(whole), `pieces of ${piece}, concurrency ${concurrency}`);
    }
  });
}

test('random chunks are stored: the output is at most the input plus 5 bytes a stored block and the frame', async (t) => {
  const input = pseudoRandom(3 * MiB, 'k');
  t.true(looksRandom(input.subarray(0, MiB)));
  const out = await gzip(input, MiB);
  t.true(out.length <= input.length + Math.ceil(MiB / 65535) * 5 * 3 + 10 + 13, `${out.length}`);
});

test('a source that fails mid-way fails the gzip (no hang), also with chunks under way', async (t) => {
  async function* failing() {
    yield text(MiB);
    yield pseudoRandom(MiB, 'l');
    yield text(MiB / 2);
    throw new Error('disk read failed');
  }
  await t.throwsAsync(pipeline(Readable.from(failing()), createParallelGzip({ concurrency: 4 }), async function* (s) {
    for await (const _ of s) yield;
  }), { message: 'disk read failed' });
  // a consumer that stops early: the generator ends, and the next gzip still runs
  for await (const _ of parallelGzip(Readable.from([text(3 * MiB)]))) break;
  t.true(gnuGunzip(await gzip(text(MiB + 3), 4096)).ok);
});

test('a level outside 0-9 is refused before any byte is written', async (t) => {
  for (const level of [-1, 10, 1.5, Number.NaN]) {
    await t.throwsAsync(async () => {
      for await (const _ of parallelGzip(Readable.from([Buffer.from('x')]), { level })) t.fail('wrote bytes');
    }, { instanceOf: RangeError });
  }
});
