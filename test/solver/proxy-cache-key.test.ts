// Proxy settings describe the way out to the network, not the result: a RUN's cache key is the
// same whatever proxy a build gives (BuildKit clears Meta.ProxyEnv before taking the key), issue 13.
import test from 'ava';
import { createVertex, type ExecOp } from '../../src/llb/index.ts';
import { computeCacheKeys } from '../../solver/index.ts';

const run = (extra: Partial<ExecOp>) =>
  createVertex({ kind: 'exec', args: ['/bin/sh', '-c', 'wget http://example.com'], env: ['PATH=/bin'], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root' }], ...extra }, [], { name: 'RUN wget' });

test('the proxy settings change neither the digest nor the cache key of a RUN; its env does', async (t) => {
  const checksum = async () => 'sha256:' + '0'.repeat(64);
  const key = async (extra: Partial<ExecOp>) => {
    const v = run(extra);
    return { digest: v.digest, key: (await computeCacheKeys([v], { checksum })).get(v.digest) };
  };
  const none = await key({});
  t.deepEqual(await key({ proxyEnv: { httpProxy: 'http://a:3128' } }), none);
  t.deepEqual(await key({ proxyEnv: { httpProxy: 'http://b:3128', noProxy: 'localhost' } }), none);
  t.notDeepEqual((await key({ env: ['PATH=/bin', 'HTTP_PROXY=http://a:3128'] })).key, none.key, 'a proxy set by ENV is part of the env, and of the key');
});
