// The content reads behind cache keys (context checksums, remote lookups) run as tasks: in
// parallel up to the build's parallelism, stopped by its signal, reported as progress.
import test from 'ava';
import { createVertex, topoSort, type CopyAction, type Vertex } from '../../src/llb/index.ts';
import type { ProgressEvent } from '../../src/progress/index.ts';
import { computeCacheKeys, type LocalChecksum } from '../../solver/index.ts';

const ctx = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] }, [], { name: 'context' });
const copyOf = (src: string): CopyAction => ({ action: 'copy', from: 1, src: [src], dest: '/', copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true });
// COPY steps in a chain, each reading its own file of the context: their reads are independent
function chain(n: number): Vertex {
  let v: Vertex | undefined;
  for (let i = 0; i < n; i++) v = createVertex({ kind: 'file', ...(v ? { base: 0 } : {}), actions: [copyOf(`/f${i}`)] }, v ? [v, ctx] : [ctx, ctx], { name: `COPY f${i}` });
  return v!;
}
const orderOf = (root: Vertex) => topoSort([root]);

function slowChecksum(delayMs: number) {
  const seen = { running: 0, most: 0, started: 0 };
  const checksum: LocalChecksum = async (_name, src, _ex, o) => {
    seen.started++;
    seen.running++;
    seen.most = Math.max(seen.most, seen.running);
    try {
      await new Promise((r, reject) => {
        const timer = setTimeout(r, delayMs);
        o.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(o.signal!.reason)), { once: true });
      });
      return src.join(',');
    } finally {
      seen.running--;
    }
  };
  return { checksum, seen };
}

test('reads run in parallel, never more at once than the parallelism, and keys do not depend on it', async (t) => {
  const order = orderOf(chain(6));
  const one = slowChecksum(30);
  const serial = await computeCacheKeys(order, { checksum: one.checksum, maxParallelism: 1 });
  t.is(one.seen.most, 1);
  const two = slowChecksum(30);
  const parallel = await computeCacheKeys(order, { checksum: two.checksum, maxParallelism: 2 });
  t.is(two.seen.most, 2, 'six independent reads, two at a time');
  t.deepEqual([...parallel], [...serial]);
});

test('the build signal stops the reads: the keys fail with its reason and nothing reads on', async (t) => {
  const order = orderOf(chain(6));
  const slow = slowChecksum(200);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('cancelled by the user')), 50);
  const e = await t.throwsAsync(computeCacheKeys(order, { checksum: slow.checksum, maxParallelism: 2, signal: ac.signal }));
  t.regex(e.message, /cancelled by the user/);
  t.is(slow.seen.running, 0, 'no read is left running');
  const started = slow.seen.started;
  await new Promise((r) => setTimeout(r, 300));
  t.is(slow.seen.started, started, 'no read starts after the failure');
  t.true(started < 6);
});

test('a failing read is the error thrown and stops the reads queued behind it', async (t) => {
  const order = orderOf(chain(4));
  let started = 0;
  const e = await t.throwsAsync(
    computeCacheKeys(order, {
      maxParallelism: 1,
      checksum: async (_n, src) => {
        started++;
        if (src[0] === '/f1') throw new Error('"f1" not found in the build context');
        return 'ok';
      },
    }),
  );
  t.regex(e.message, /f1/);
  t.is(started, 2, 'reads queued behind the failure never start');
});

test('each reading vertex reports its reads as progress', async (t) => {
  const root = chain(2);
  const events: ProgressEvent[] = [];
  await computeCacheKeys(orderOf(root), { checksum: async () => 'x', progress: { emit: (e) => events.push({ ...e, time: 0 } as ProgressEvent) } });
  const progress = events.filter((e): e is Extract<ProgressEvent, { type: 'vertex.progress' }> => e.type === 'vertex.progress');
  t.deepEqual(progress.filter((e) => e.vertex.digest === root.digest).map((e) => [e.id, e.current, e.total]), [['cache-key', 0, 1], ['cache-key', 1, 1]]);
  t.deepEqual([...new Set(progress.map((e) => e.vertex.name))].sort(), ['COPY f0', 'COPY f1']);
});
