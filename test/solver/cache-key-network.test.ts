// An exec's network mode is an input of how it runs, never of its cache key (issue 6).
import test from 'ava';
import { createVertex, type ExecOp, type NetworkMode } from '../../src/llb/index.ts';
import { computeCacheKeys } from '../../solver/index.ts';

const image = createVertex({ kind: 'source', source: 'image', ref: 'docker.io/library/busybox:latest', digest: `sha256:${'a'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } }, [], { name: 'FROM busybox' });
const exec = (network: NetworkMode, extra: Partial<ExecOp> = {}) =>
  createVertex({ kind: 'exec', args: ['/bin/sh', '-c', 'make'], env: [], cwd: '/', user: '', network, mounts: [{ type: 'root', input: 0 }], ...extra }, [image], { name: 'RUN make' });
const keyOf = async (v: ReturnType<typeof exec>) => (await computeCacheKeys([image, v], { checksum: async () => '' }))!.get(v.digest);

test('the same RUN with another network mode has the same cache key', async (t) => {
  const [sandbox, none, host] = [exec('sandbox'), exec('none'), exec('host')];
  t.not(sandbox.digest, none.digest, 'the ops still differ: the worker must know the mode');
  t.is(await keyOf(sandbox), await keyOf(none));
  t.is(await keyOf(sandbox), await keyOf(host));
});

test('what changes the result still changes the key: the command, --add-host, --security=insecure', async (t) => {
  const key = await keyOf(exec('sandbox'));
  t.not(await keyOf(exec('sandbox', { args: ['/bin/sh', '-c', 'make all'] })), key);
  t.not(await keyOf(exec('sandbox', { extraHosts: ['db:10.0.0.2'] })), key);
  t.not(await keyOf(exec('sandbox', { security: 'insecure' })), key);
});
