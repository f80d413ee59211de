// Layer blobs made while the build runs (src/build/layer-prefetch.ts): the same blobs as made at
// export, only for the image's own steps, nothing left half-written when the build ends early.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLayerPrefetch, imageLineage } from '../../src/build/layer-prefetch.ts';
import { topoSort, type Vertex } from '../../src/llb/index.ts';
import { build } from '../frontend/_build.ts';
import { layerEntries, run, tarEntries, withWorker, type TestWorker } from '../worker/_setup.ts';

const names = (vs: Iterable<Vertex>) => [...vs].map((v) => v.meta.name);

test('the lineage is the target stage down to its base image: a compiler stage it copies from is not in it', async (t) => {
  const def = await build('FROM busybox AS build\nRUN make\nRUN make install\nFROM busybox\nWORKDIR /app\nCOPY --from=build /out /app/\nRUN ./test\n');
  const lineage = imageLineage(def.root);
  const all = topoSort([def.root!]);
  const inImage = names(all.filter((v) => lineage.has(v.digest)));
  t.true(inImage.some((n) => n.includes('RUN ./test')), inImage.join(' | '));
  t.true(inImage.some((n) => n.includes('COPY --from=build')), inImage.join(' | '));
  t.true(inImage.some((n) => n.includes('WORKDIR /app')), inImage.join(' | '));
  t.false(inImage.some((n) => n.includes('make')), inImage.join(' | '));
  t.is(imageLineage(undefined).size, 0);
});

const ctxFor = (w: TestWorker, digest: string) => ({ ...w.ctx, vertex: { digest, name: digest } });

async function blobCount(w: TestWorker): Promise<number> {
  let n = 0;
  for await (const _ of w.content.walk()) n++;
  return n;
}

test('steps on the lineage get their blob during the build, the same bytes as the worker makes; other steps get none', async (t) => {
  await withWorker(async (w) => {
    const base = await w.busybox();
    const before = await blobCount(w);
    const prefetch = createLayerPrefetch(w.worker, { lineage: new Set(['sha256:on1', 'sha256:on2']) });
    try {
      const a = await prefetch.worker.exec(run('echo a > /a'), [{ type: 'snapshot', id: base }], ctxFor(w, 'sha256:on1'));
      // a compiler stage's step: its result is not a layer of the image
      await prefetch.worker.exec(run('echo x > /x'), [{ type: 'snapshot', id: base }], ctxFor(w, 'sha256:off'));
      const b = await prefetch.worker.exec(run('mkdir -p /d && echo b > /d/b'), [{ type: 'snapshot', id: a }], ctxFor(w, 'sha256:on2'));
      const [la, lb] = await prefetch.layers([a, b]);
      // worker.layer is idempotent: asking it again gives the blob made in the background
      t.deepEqual(await w.worker.layer(a), la);
      t.deepEqual(await w.worker.layer(b), lb);
      t.deepEqual((await tarEntries(await w.content.readBytes(la.digest))).map((e) => e.name), ['a']);
      t.deepEqual((await layerEntries(w, b)).map((e) => e.name), ['d/', 'd/b']);
      await prefetch.close();
      // two layer blobs, none for the step off the lineage (nor for the busybox snapshot)
      t.is(await blobCount(w), before + 2);
    } finally {
      await prefetch.close();
    }
  });
});

test('closing while a blob is being made waits for it, leaves no partial file and never throws', async (t) => {
  await withWorker(async (w) => {
    const base = await w.busybox();
    const before = await blobCount(w);
    const prefetch = createLayerPrefetch(w.worker, { lineage: new Set(['sha256:on']) });
    // a layer big enough that close() comes while it is under way
    const big = await prefetch.worker.exec(run('head -c 20000000 /dev/urandom > /big'), [{ type: 'snapshot', id: base }], ctxFor(w, 'sha256:on'));
    await t.notThrowsAsync(prefetch.close());
    t.deepEqual(readdirSync(join(w.root, 'content', 'ingest')), []);
    const afterClose = await blobCount(w);
    t.true(afterClose === before || afterClose === before + 1, `${afterClose} blobs`);
    // after close nothing more starts in the background
    await prefetch.worker.exec(run('echo late > /late'), [{ type: 'snapshot', id: big }], ctxFor(w, 'sha256:on'));
    t.is(await blobCount(w), afterClose);
    // and the export's own call still makes the blob
    const [layer] = await prefetch.layers([big]);
    t.is(layer.empty, false);
  });
});
