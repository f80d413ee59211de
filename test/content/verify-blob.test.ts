// The content store's blob streams check the digest as they flow, and a consumer of a damaged
// blob never receives all of it (issue 7 item 5).
import test from 'ava';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openContentStore } from '../../src/content/index.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

/** Everything the stream delivered before it ended or failed. */
async function drain(stream: NodeJS.ReadableStream): Promise<{ bytes: number; error?: Error }> {
  let bytes = 0;
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => ((bytes += chunk.length), cb()) });
  try {
    await pipeline(stream, sink);
    return { bytes };
  } catch (e) {
    return { bytes, error: e as Error };
  }
}

test('a whole blob streams out unchanged; a damaged one fails naming it, before its last chunk', async (t) => {
  const dir = tempDir();
  try {
    const store = openContentStore(join(dir, 'content'));
    const data = Buffer.alloc(300_000, 7);
    const { digest } = await store.putBytes(data);
    const good = await drain(await store.open(digest, { size: data.length }));
    t.deepEqual(good, { bytes: data.length });

    data.fill(8, 150_000, 150_016);
    writeFileSync(store.path(digest), data);
    const bad = await drain(await store.open(digest));
    t.true(bad.bytes < data.length, `delivered ${bad.bytes} of ${data.length} bytes`);
    t.is((bad.error as { code?: string }).code, 'DIGEST_MISMATCH');
    t.is(bad.error?.message, `the content store is damaged: blob ${digest} holds content with digest sha256:${createHash('sha256').update(data).digest('hex')}`);
  } finally {
    removeDir(dir);
  }
});

test('a blob of the wrong size is caught by its size, a longer one before more than the size is read', async (t) => {
  const dir = tempDir();
  try {
    const store = openContentStore(join(dir, 'content'));
    const { digest, size } = await store.putBytes(Buffer.alloc(1000, 1));
    const short = await drain(await store.open(digest, { size: size + 5 }));
    t.is(short.error?.message, `the content store is damaged: blob ${digest} has 1000 bytes, its descriptor says 1005`);

    writeFileSync(store.path(digest), Buffer.alloc(5_000_000, 1));
    const long = await drain(await store.open(digest, { size }));
    t.true(long.bytes <= size);
    t.is(long.error?.message, `the content store is damaged: blob ${digest} is longer than the 1000 bytes its descriptor says`);
  } finally {
    removeDir(dir);
  }
});
