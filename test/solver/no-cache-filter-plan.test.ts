// Issue 9: a step under --no-cache-filter runs even when a step on it is cached (in BuildKit it
// runs before the steps on it get keys); the steps on it keep their keys and stay cached, and the
// plan says why the step runs.
import test from 'ava';
import { createVertex, topoSort, type Vertex } from '../../src/llb/index.ts';
import { computeCacheKeys, planBuild } from '../../solver/index.ts';

const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } }, [], { name: 'FROM busybox' });
const run = (cmd: string, base: Vertex, stage: string) =>
  createVertex({ kind: 'exec', args: ['/bin/sh', '-c', cmd], env: [], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }] }, [base], { name: `RUN ${cmd}`, stage });

test('the filtered stage runs below a cached step; the rest stays as the cache has it', async (t) => {
  const deps = run('fetch deps', image, 'deps');
  const more = run('more deps', deps, 'deps');
  const app = run('make', more, 'app');
  const keys = await computeCacheKeys(topoSort([app]), { checksum: async () => '' });
  const all = new Set(keys.values());
  const plan = planBuild(app, {
    keys,
    lookup: (k) => (all.has(k) ? { snapshot: `snap-${k.slice(7, 12)}` } : undefined),
    ignoreCache: (v) => v.meta.stage === 'deps',
    ignoreReason: (v) => `cache disabled for stage ${v.meta.stage} (--no-cache-filter)`,
  });
  t.like(plan.get(app.digest), { action: 'cached' });
  t.deepEqual(plan.get(more.digest), { action: 'run', key: keys.get(more.digest)!, reason: 'cache disabled for stage deps (--no-cache-filter)' });
  t.like(plan.get(deps.digest), { action: 'run' });
  t.like(plan.get(image.digest), { action: 'cached' }, 'an image is reused under --no-cache');
});

test('without a filter nothing below a hit is needed', async (t) => {
  const deps = run('fetch deps', image, 'deps');
  const app = run('make', deps, 'app');
  const keys = await computeCacheKeys(topoSort([app]), { checksum: async () => '' });
  const plan = planBuild(app, { keys, lookup: () => ({ snapshot: 's' }), ignoreCache: () => false });
  t.like(plan.get(app.digest), { action: 'cached' });
  t.like(plan.get(deps.digest), { action: 'skip' });
});
