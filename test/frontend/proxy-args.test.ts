// Proxy build args (issue 13), as BuildKit's proxyEnvFromBuildArgs and executor's proxyEnvList:
// predefined, any spelling, both spellings at run time, outside the digest, config and history.
import test from 'ava';
import { proxyEnvFromBuildArgs, withProxyEnv } from '../../src/llb/index.ts';
import { build, exec } from './_build.ts';

test('proxy build args reach RUN as proxyEnv, not env, without changing the digest or history', async (t) => {
  const df = 'FROM busybox\nRUN wget http://example.com\n';
  const plain = await build(df);
  const proxied = await build(df, { buildArgs: { http_proxy: 'http://p:3128', NO_PROXY: 'localhost' } });
  const run = exec(proxied.root);
  t.deepEqual(run.proxyEnv, { httpProxy: 'http://p:3128', noProxy: 'localhost' });
  t.false(run.env.some((e) => /proxy/i.test(e)), run.env.join(' '));
  t.is(proxied.root!.digest, plain.root!.digest, 'the proxy does not change the digest');
  t.false(JSON.stringify(proxied.config).toLowerCase().includes('proxy'), 'nor the config or history');
  t.deepEqual(proxied.warnings.map((w) => w.message), [], 'predefined: no unused build-arg warning');
});

test('proxy settings: any spelling, the lower-case one winning, set in both spellings over the ENV', (t) => {
  t.deepEqual(proxyEnvFromBuildArgs({ HTTP_PROXY: 'upper', http_proxy: 'lower', Https_Proxy: 's', OTHER: 'x' }), { httpProxy: 'lower', httpsProxy: 's' });
  t.is(proxyEnvFromBuildArgs({ OTHER: 'x' }), undefined);
  t.deepEqual(withProxyEnv(['PATH=/bin', 'HTTP_PROXY=from-env', 'A=1'], { httpProxy: 'arg', allProxy: 'socks5://s' }), [
    'PATH=/bin', 'A=1', 'HTTP_PROXY=arg', 'http_proxy=arg', 'ALL_PROXY=socks5://s', 'all_proxy=socks5://s',
  ]);
  t.deepEqual(withProxyEnv(['A=1'], undefined), ['A=1']);
});
