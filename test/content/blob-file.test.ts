// A blob's file (src/content/blob-file.ts): past its first 16 MiB a blob is written with O_DIRECT,
// from aligned buffers, whatever sizes its chunks come in; the page cache keeps only the start. What
// must hold is what a reader sees: the exact bytes under the right digest, from a source that reuses
// its chunks' memory too, and a small blob stays in the cache for the next reader.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';

function withStore(fn: (store: ReturnType<typeof openContentStore>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-content-'));
  return fn(openContentStore(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const tmpfsMagic = 0x01021994;

/** Bytes of `path` in the page cache (util-linux fincore). */
const cachedBytes = (path: string) => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());

/** `data` in chunks of `size` bytes, each yielded from one buffer that is overwritten for the next. */
async function* reusing(data: Buffer, size: number): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(size);
  for (let off = 0; off < data.length; off += size) {
    const n = data.copy(chunk, 0, off, off + size);
    yield chunk.subarray(0, n);
    chunk.fill(0xee);
  }
}

test('a 40 MiB blob in odd-sized reused chunks is stored byte for byte, and most of it is not left in the page cache', async (t) => {
  await withStore(async (store) => {
    const data = randomBytes(40 * 1024 * 1024 + 333);
    const expected = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const info = await store.putStream(reusing(data, 65_537));
    t.deepEqual(info, { digest: expected, size: data.length });
    const stored = store.path(info.digest);
    // before reading it: what the write left cached (reading brings the rest in). A tmpfs keeps
    // every file in the page cache: there the bytes are all that can be checked
    if (statfsSync(stored).type === tmpfsMagic) t.log('the temp dir is a tmpfs: what O_DIRECT left cached is not checked');
    else {
      const cached = cachedBytes(stored);
      t.true(cached <= 20 * 1024 * 1024, `${cached} bytes of the blob are cached: its last 24 MiB should have gone straight to the disk`);
    }
    t.true(readFileSync(stored).equals(data));
  });
});

test('a small blob stays in the page cache for the reader that comes next', async (t) => {
  await withStore(async (store) => {
    const data = randomBytes(8 * 1024 * 1024);
    const info = await store.putStream(reusing(data, 1 << 20));
    t.is(cachedBytes(store.path(info.digest)), data.length);
    t.true(readFileSync(store.path(info.digest)).equals(data));
  });
});

test('a blob of whole MiBs and one of a single byte past them end where they should', async (t) => {
  await withStore(async (store) => {
    for (const size of [20 * 1024 * 1024, 20 * 1024 * 1024 + 1, 17 * 1024 * 1024 - 1]) {
      const data = randomBytes(size);
      const info = await store.putStream(reusing(data, 1 << 20));
      t.is(info.size, size);
      t.true(readFileSync(store.path(info.digest)).equals(data), `${size} bytes`);
    }
  });
});

test('a big blob reads back exactly (past the page cache), and a damaged one fails its digest', async (t) => {
  await withStore(async (store) => {
    const data = randomBytes(24 * 1024 * 1024 + 4097);
    const info = await store.putStream(reusing(data, 1 << 20));
    const read = async (s: ReturnType<typeof openContentStore>) => Buffer.concat(await (await s.open(info.digest)).toArray());
    t.true((await read(store)).equals(data), 'written by this process: not hashed again');
    // another process's store checks what it reads
    const other = openContentStore(store.dir);
    t.true((await read(other)).equals(data));
    const fd = openSync(store.path(info.digest), 'r+');
    writeSync(fd, Buffer.from('damage'), 0, 6, 20 * 1024 * 1024);
    closeSync(fd);
    await t.throwsAsync(read(openContentStore(store.dir)), { message: /digest/ });
  });
});
