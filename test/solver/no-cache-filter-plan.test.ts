// Issue 9: a step under --no-cache-filter runs even when a step on it is cached (in BuildKit it
// runs before the steps on it get keys), and so does every step on its result: their keys are made
// of its key, not of the bytes its rerun made, so a hit by them could hand out the old result.
// Steps not on a filtered step stay as the cache has them, and the plan says why each step runs.
import test from 'ava';
import { createVertex, topoSort, type Vertex } from '../../src/llb/index.ts';
import { computeCacheKeys, planBuild } from '../../solver/index.ts';

const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } }, [], { name: 'FROM busybox' });
const run = (cmd: string, base: Vertex, stage: string) =>
  createVertex({ kind: 'exec', args: ['/bin/sh', '-c', cmd], env: [], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }] }, [base], { name: `RUN ${cmd}`, stage });

test('the filtered stage runs, and every step on its result runs after it', async (t) => {
  const deps = run('fetch deps', image, 'deps');
  const more = run('more deps', deps, 'deps');
  const app = run('make', more, 'app');
  const check = run('test', app, 'app');
  const keys = await computeCacheKeys(topoSort([check]), { checksum: async () => '' });
  const all = new Set(keys.values());
  const plan = planBuild(check, {
    keys,
    lookup: (k) => (all.has(k) ? { snapshot: `snap-${k.slice(7, 12)}` } : undefined),
    ignoreCache: (v) => v.meta.stage === 'deps',
    ignoreReason: (v) => `cache disabled for stage ${v.meta.stage} (--no-cache-filter)`,
    explainMiss: () => ({ reason: 'a result existed', previous: true }),
  });
  t.deepEqual(plan.get(check.digest), { action: 'run', key: keys.get(check.digest)!, reason: 'an earlier step ran again (--no-cache-filter)', previous: true });
  t.like(plan.get(app.digest), { action: 'run', reason: 'an earlier step ran again (--no-cache-filter)' });
  t.deepEqual(plan.get(more.digest), { action: 'run', key: keys.get(more.digest)!, reason: 'cache disabled for stage deps (--no-cache-filter)', previous: true });
  t.like(plan.get(deps.digest), { action: 'run' });
  t.like(plan.get(image.digest), { action: 'cached' }, 'an image is reused under --no-cache');
});

test('the reason names the rerun step each step reads, through the steps between', async (t) => {
  const deps = run('fetch deps', image, 'deps');
  const app = run('make', image, 'app');
  const both = createVertex({ kind: 'exec', args: ['/bin/sh', '-c', 'link'], env: [], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }, { type: 'bind', input: 1, target: '/deps', source: '/', readonly: true }] }, [app, deps], { name: 'RUN link', stage: 'app' });
  const last = run('package', both, 'app');
  const keys = await computeCacheKeys(topoSort([last]), { checksum: async () => '' });
  const all = new Set(keys.values());
  const plan = planBuild(last, {
    keys,
    lookup: (k) => (all.has(k) ? { snapshot: 's' } : undefined),
    ignoreCache: (v) => v.meta.stage === 'deps',
    rerunReason: (_v, below) => `earlier step "${below.meta.name}" ran again`,
  });
  t.like(plan.get(last.digest), { action: 'run', reason: 'earlier step "RUN fetch deps" ran again' });
  t.like(plan.get(both.digest), { action: 'run', reason: 'earlier step "RUN fetch deps" ran again' });
  t.like(plan.get(app.digest), { action: 'cached' }, 'a step not on the rerun step stays cached');
  t.false('previous' in plan.get(last.digest)!, 'no explainer said a result existed');
});

test('a filtered step below a cached step runs, and so do the steps up to the target', async (t) => {
  // the target is in the cache, so nothing below it would be looked up without the filter
  const deps = run('fetch deps', image, 'deps');
  const app = run('make', deps, 'app');
  const keys = await computeCacheKeys(topoSort([app]), { checksum: async () => '' });
  const plan = planBuild(app, { keys, lookup: () => ({ snapshot: 's' }), ignoreCache: (v) => v.meta.stage === 'deps' });
  t.like(plan.get(deps.digest), { action: 'run' });
  t.like(plan.get(app.digest), { action: 'run' });
});

test('without a filter nothing below a hit is needed', async (t) => {
  const deps = run('fetch deps', image, 'deps');
  const app = run('make', deps, 'app');
  const keys = await computeCacheKeys(topoSort([app]), { checksum: async () => '' });
  const plan = planBuild(app, { keys, lookup: () => ({ snapshot: 's' }), ignoreCache: () => false });
  t.like(plan.get(app.digest), { action: 'cached' });
  t.like(plan.get(deps.digest), { action: 'skip' });
});
