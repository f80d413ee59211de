// The content store's blob streams check the digest as they flow, and a consumer of a damaged
// blob never receives all of it (issue 7 item 5).
import test from 'ava';
import { createHash } from 'node:crypto';
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
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

test('a blob this store just wrote streams out unhashed, but once edited in place or replaced by another file it is checked again', async (t) => {
  const dir = tempDir();
  try {
    const store = openContentStore(join(dir, 'content'));
    const data = Buffer.alloc(200_000, 3);
    const { digest } = await store.putStream(Readable.from([data]));
    t.deepEqual(await drain(await store.open(digest, { size: data.length })), { bytes: data.length });
    // the same size, changed in place straight after the write
    const fd = openSync(store.path(digest), 'r+');
    writeSync(fd, Buffer.alloc(16, 9), 0, 16, 1000);
    closeSync(fd);
    t.is(((await drain(await store.open(digest))).error as { code?: string }).code, 'DIGEST_MISMATCH', 'edited in place');
    // another file of the same size renamed over it
    const other = join(dir, 'other');
    writeFileSync(other, Buffer.alloc(200_000, 4));
    renameSync(other, store.path(digest));
    t.is(((await drain(await store.open(digest))).error as { code?: string }).code, 'DIGEST_MISMATCH', 'replaced');
    // a second store on the same directory (another process) did not write it: checked
    const fresh = openContentStore(join(dir, 'content'));
    const { digest: d2 } = await store.putBytes(Buffer.alloc(1000, 5));
    writeFileSync(fresh.path(d2), Buffer.alloc(1000, 6));
    t.is(((await drain(await fresh.open(d2))).error as { code?: string }).code, 'DIGEST_MISMATCH', 'not written by this store');
  } finally {
    removeDir(dir);
  }
});
