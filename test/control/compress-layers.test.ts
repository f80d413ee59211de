// The scheduling contract of compressLayers: bounded, in chain order, one failure stops the rest.
// The layers themselves are the worker's (test/control/concurrent-builds.test.ts compresses real
// ones); here `layer` only takes time, so the bound and the order can be watched exactly.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { compressLayers } from '../../control/compress-layers.ts';
import type { ProgressEvent, ProgressSink } from '../../src/progress/index.ts';
import type { LayerBlob } from '../../src/image/index.ts';

const vertex = { digest: 'export', name: 'exporting to image' };
const info = (id: string): LayerBlob => ({ diffId: `sha256:${id}`, digest: `sha256:${id}`, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false });

function timedWorker(ms: Record<string, number>, fail?: string) {
  let running = 0;
  const seen = { most: 0, aborted: [] as string[], started: [] as string[] };
  return {
    seen,
    async layer(id: string, opts?: { signal?: AbortSignal }): Promise<LayerBlob> {
      seen.started.push(id);
      running++;
      seen.most = Math.max(seen.most, running);
      try {
        await sleep(ms[id], undefined, { signal: opts?.signal });
        if (id === fail) throw new Error(`layer ${id} failed`);
        return info(id);
      } catch (e) {
        if (opts?.signal?.aborted) seen.aborted.push(id);
        throw e;
      } finally {
        running--;
      }
    },
  };
}

const events = (): ProgressSink & { list: ProgressEvent[] } => {
  const list: ProgressEvent[] = [];
  return { list, emit: (e) => list.push({ ...e, time: 0 } as ProgressEvent) };
};

test('at most `parallelism` layers at once, results in chain order, one progress event each as they finish', async (t) => {
  const worker = timedWorker({ a: 60, b: 10, c: 30, d: 5, e: 5 });
  const progress = events();
  const layers = await compressLayers(worker, ['a', 'b', 'c', 'd', 'e'], { progress, vertex, parallelism: 2 });
  t.deepEqual(layers.map((l) => l.digest), ['sha256:a', 'sha256:b', 'sha256:c', 'sha256:d', 'sha256:e']);
  t.is(worker.seen.most, 2);
  const done = progress.list.flatMap((e) => (e.type === 'vertex.progress' ? [[e.id, e.current, e.total]] : []));
  // b finishes first although a came first
  t.deepEqual(done[0], ['layer sha256:b', 1, 5]);
  t.is(done.length, 5);
  t.deepEqual(done.map((d) => d[1]), [1, 2, 3, 4, 5]);
});

test('uncompressed layers (a tar and a hash: disk reads and a write) go `ioParallelism` at once, compressed ones `parallelism`', async (t) => {
  const ms = { a: 20, b: 20, c: 20, d: 20, e: 20 };
  const local = timedWorker(ms);
  await compressLayers(local, ['a', 'b', 'c', 'd', 'e'], { progress: events(), vertex, parallelism: 2, ioParallelism: 4, layer: { compression: 'uncompressed', reuse: 'any' } });
  t.is(local.seen.most, 4);
  const gzip = timedWorker(ms);
  await compressLayers(gzip, ['a', 'b', 'c', 'd', 'e'], { progress: events(), vertex, parallelism: 2, ioParallelism: 4, layer: { compression: 'gzip', reuse: 'exact' } });
  t.is(gzip.seen.most, 2);
});

test('a failing layer stops the ones under way and starts no more; its error is the one thrown', async (t) => {
  // a and c would take an hour: a can only end by being stopped, however slow the machine
  const worker = timedWorker({ a: 3_600_000, b: 10, c: 3_600_000, d: 5 }, 'b');
  await t.throwsAsync(compressLayers(worker, ['a', 'b', 'c', 'd'], { progress: events(), vertex, parallelism: 2 }), { message: 'layer b failed' });
  t.deepEqual(worker.seen.aborted, ['a'], 'a, under way, was stopped');
  t.false(worker.seen.started.includes('d'), 'no layer starts after the failure');
});

test('the build\'s abort stops them with its reason', async (t) => {
  // layers that would take an hour: compressLayers can only end by stopping them (no clock is read)
  const worker = timedWorker({ a: 3_600_000, b: 3_600_000 });
  const controller = new AbortController();
  const compressing = compressLayers(worker, ['a', 'b'], { progress: events(), vertex, parallelism: 4, signal: controller.signal });
  while (worker.seen.started.length < 2) await sleep(1);
  controller.abort(new Error('build cancelled (SIGTERM)'));
  await t.throwsAsync(compressing, { message: 'build cancelled (SIGTERM)' });
  t.deepEqual(worker.seen.aborted.sort(), ['a', 'b']);
});
