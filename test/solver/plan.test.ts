import test from 'ava';
import { createVertex, type Vertex } from '../../src/llb/index.ts';
import { computeCacheKeys, planBuild } from '../../solver/index.ts';
import { topoSort } from '../../src/llb/index.ts';

const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } }, [], { name: 'FROM busybox' });
const ctx = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] }, [], { name: 'context' });
const copy = (src: string, base: Vertex) =>
  createVertex(
    { kind: 'file', base: 0, actions: [{ action: 'copy', from: 1, src: [src], dest: '/app/', copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true }] },
    [base, ctx],
    { name: `COPY ${src}` },
  );
const run = (cmd: string, base: Vertex) => createVertex({ kind: 'exec', args: ['/bin/sh', '-c', cmd], env: [], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }] }, [base], { name: `RUN ${cmd}` });

const files = new Map([['/a.txt', 'A'], ['/b.txt', 'B']]);
const checksum = async (_name: string, src: readonly string[]) => src.map((s) => `${s}=${files.get(s)}`).join(';');

test('a content change in what a COPY reads changes its key and every key after it, nothing else', async (t) => {
  const a = copy('/a.txt', image);
  const b = copy('/b.txt', run('make', a));
  const order = topoSort([b]);
  const before = await computeCacheKeys(order, { checksum });
  files.set('/b.txt', 'B2');
  const after = await computeCacheKeys(order, { checksum });
  files.set('/b.txt', 'B');
  t.is(before.get(a.digest), after.get(a.digest));
  t.is(before.get(order[3].digest), after.get(order[3].digest), 'RUN make keeps its key');
  t.not(before.get(b.digest), after.get(b.digest));
});

test('the plan stops at the highest cached vertex and says why others run', async (t) => {
  const a = copy('/a.txt', image);
  const r = run('make', a);
  const b = copy('/b.txt', r);
  const keys = await computeCacheKeys(topoSort([b]), { checksum });
  const cachedKeys = new Set([keys.get(r.digest)]);
  const plan = planBuild(b, { keys, lookup: (k) => (cachedKeys.has(k) ? { snapshot: 'snap-r' } : undefined), ignoreCache: () => false });
  t.deepEqual(plan.get(b.digest), { action: 'run', key: keys.get(b.digest)!, reason: 'no cache entry for this key' });
  t.like(plan.get(r.digest), { action: 'cached', snapshot: 'snap-r' });
  t.is(plan.get(a.digest)?.action, 'skip');
  t.is(plan.get(image.digest)?.action, 'skip');
  t.is(plan.get(ctx.digest)?.action, 'local');
});

test('--no-cache runs every step but still reuses unpacked base images', async (t) => {
  const r = run('make', copy('/a.txt', image));
  const keys = await computeCacheKeys(topoSort([r]), { checksum });
  const plan = planBuild(r, { keys, lookup: () => ({ snapshot: 'any' }), ignoreCache: () => true });
  t.like(plan.get(r.digest), { action: 'run', reason: 'cache disabled (--no-cache)' });
  t.is(plan.get(image.digest)?.action, 'cached');
});

test('renaming a step (metadata) keeps its key', async (t) => {
  const one = createVertex(run('make', image).op, [image], { name: '[build 2/2] RUN make', stage: 'build' });
  const two = createVertex(run('make', image).op, [image], { name: '[compile 2/2] RUN make', stage: 'compile' });
  const k1 = await computeCacheKeys(topoSort([one]), { checksum });
  const k2 = await computeCacheKeys(topoSort([two]), { checksum });
  t.is(k1.get(one.digest), k2.get(two.digest));
});
