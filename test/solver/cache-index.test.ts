// The local cache index (solver/cache-index.ts) on a real worker: entries are results, a snapshot
// while it is on disk and its layer blobs once it is not; the parts of each key tell a miss apart.
import test from 'ava';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVertex } from '../../src/llb/index.ts';
import { openCacheIndex, type KeyParts } from '../../solver/index.ts';
import { createMissExplainer } from '../../solver/explain-miss.ts';
import { run, withWorker, type TestWorker } from '../worker/_setup.ts';

const key = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const parts = (op: string, inputs: string[], content: string[]): KeyParts => ({ op: `sha256:${op.repeat(64).slice(0, 64)}`, inputs, content });

function removeSnapshots(w: TestWorker, ids: string[]): void {
  for (const id of [...ids].reverse()) {
    w.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
    rmSync(join(w.root, 'snapshots', id), { recursive: true, force: true });
  }
}

test('an entry is its snapshot while that exists, then its layers while their blobs exist, then a miss', (t) =>
  withWorker(async (w) => {
    const cache = openCacheIndex(w.db, w.worker);
    const base = await w.busybox();
    const id = await w.worker.run(run('echo hi > /f'), [{ type: 'snapshot', id: base }], w.ctx);
    const p = parts('a', [key(1)], []);
    cache.record(key(2), { snapshot: id, parts: p });
    cache.record(key(3), { snapshot: undefined });
    t.deepEqual(cache.lookup(key(2)), { snapshot: id, parts: p });
    t.deepEqual(cache.lookup(key(3)), { snapshot: undefined }, 'the empty filesystem');
    t.is(cache.lookup(key(4)), undefined);

    // layers known (exported once), then GC takes the snapshots
    const chain = w.worker.chain(id);
    const layers = [];
    for (const s of chain) layers.push(await w.worker.layer(s));
    removeSnapshots(w, chain);
    const entry = cache.lookup(key(2));
    t.is(entry?.snapshot, undefined);
    t.deepEqual(entry?.layers?.map((l) => l.diffId), layers.map((l) => l.diffId));
    t.deepEqual(entry?.layers?.map((l) => l.blobs.map((b) => b.digest)), layers.map((l) => [l.digest]));
    t.deepEqual(entry?.parts, p, 'recording again without parts keeps them');

    // unpacked again, the entry points at the new snapshot and keeps its parts
    const top = await w.worker.unpackLayers(entry!.layers!, w.ctx);
    cache.record(key(2), { snapshot: top });
    t.deepEqual(cache.lookup(key(2)), { snapshot: top, parts: p });

    // the blobs go too: a miss, which the explainer names
    removeSnapshots(w, w.worker.chain(top!));
    for (const l of layers) rmSync(w.content.path(l.digest));
    t.is(cache.lookup(key(2)), undefined);
    t.true(cache.recorded(key(2)));
    const v = createVertex(run('echo hi > /f'), [], { name: 'RUN echo hi' });
    t.regex(createMissExplainer({ cache, parts: new Map([[v.digest, p]]) }).miss(v, key(2))?.reason ?? '', /cached result was removed/);
  }));

test('a miss says whether the same step had other content or another input', (t) =>
  withWorker(async (w) => {
    const cache = openCacheIndex(w.db, w.worker);
    const base = createVertex(run('true'), [], { name: '[stage-0 2/3] RUN true' });
    const v = createVertex(run('make'), [base], { name: '[stage-0 3/3] RUN make' });
    cache.record(key(5), { snapshot: undefined, parts: parts('b', [key(1)], ['sha256:content-1']) });
    const explain = (p: KeyParts) => createMissExplainer({ cache, parts: new Map([[v.digest, p]]) }).miss(v, key(6));
    t.regex(explain(parts('b', [key(1)], ['sha256:content-2']))?.reason ?? '', /^what it reads from the build context changed \(since the build of /);
    t.regex(explain(parts('b', [key(7)], ['sha256:content-1']))?.reason ?? '', /^earlier step "\[stage-0 2\/3\] RUN true" changed/);
    t.deepEqual(explain(parts('c', [key(1)], ['sha256:content-1'])), { reason: 'no earlier build of this step in the cache', previous: false }, 'another op: nothing to compare with');
    t.deepEqual(cache.similar(parts('b', [], []), 5).map((e) => e.key), [key(5)]);
  }));
