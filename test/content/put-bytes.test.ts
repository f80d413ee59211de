// putBytes of a blob already stored: not written again (a rebuild's config and manifest), but a
// damaged copy is replaced.
import test from 'ava';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';

function withStore(fn: (store: ReturnType<typeof openContentStore>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-content-'));
  return fn(openContentStore(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('storing the same bytes again keeps the stored file as it is', async (t) => {
  await withStore(async (store) => {
    const first = await store.putBytes('{"config":1}');
    const before = statSync(store.path(first.digest));
    const again = await store.putBytes(Buffer.from('{"config":1}'));
    t.deepEqual(again, first);
    // a rewrite would rename a new file (a new inode) over it
    t.is(statSync(store.path(first.digest)).ino, before.ino);
    t.is(readFileSync(store.path(first.digest), 'utf8'), '{"config":1}');
  });
});

test('a damaged stored copy (same size or not) is replaced by the good bytes', async (t) => {
  await withStore(async (store) => {
    for (const damage of ['{"config":2}', 'x']) {
      const { digest } = await store.putBytes('{"config":1}');
      writeFileSync(store.path(digest), damage);
      const again = await store.putBytes('{"config":1}');
      t.is(again.digest, digest);
      t.is(readFileSync(store.path(digest), 'utf8'), '{"config":1}', damage);
    }
  });
});

test('a blob stored without its fsync (durable: false) is stored; left empty by a power cut, the next putBytes writes it again', async (t) => {
  await withStore(async (store) => {
    const { digest, size } = await store.putBytes('{"manifest":1}', {}, { durable: false });
    t.is(readFileSync(store.path(digest), 'utf8'), '{"manifest":1}');
    t.is(size, 14);
    // what a power cut before the data reached the disk can leave: the renamed file, empty
    writeFileSync(store.path(digest), '');
    t.deepEqual(await store.putBytes('{"manifest":1}'), { digest, size });
    t.is(readFileSync(store.path(digest), 'utf8'), '{"manifest":1}');
  });
});

test('putStream writes a chunk while the source makes the next, and a source that reuses its chunk\'s memory still stores what it yielded', async (t) => {
  await withStore(async (store) => {
    const chunk = Buffer.alloc(1 << 20);
    async function* reusing() {
      for (let i = 0; i < 8; i++) {
        // the same memory every time, as the layer tar's chunks are once asked again
        chunk.fill(65 + i);
        yield chunk;
      }
    }
    const { digest, size } = await store.putStream(reusing());
    t.is(size, 8 << 20);
    const stored = readFileSync(store.path(digest));
    for (let i = 0; i < 8; i++) t.is(stored[i << 20], 65 + i, `chunk ${i}`);
    t.is(stored[(8 << 20) - 1], 72);
  });
});
