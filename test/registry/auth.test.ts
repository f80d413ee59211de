// Registry auth: challenge parsing, Docker config credentials, and Basic auth against a real
// docker-registry with htpasswd.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';
import { createAuthenticator, createRegistryClient, parseChallenge, pullImage, readDockerCredentials } from '../../src/registry/index.ts';
import { makeOciLayout, pushToRegistry, startRegistry } from '../_support/registry.ts';

test('Bearer and Basic challenges are parsed as registries send them', (t) => {
  t.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
  });
  t.deepEqual(parseChallenge('Basic realm="tsbuild-test"'), { scheme: 'basic', params: { realm: 'tsbuild-test' } });
  t.deepEqual(parseChallenge('Bearer realm="a\\"b", error=insufficient_scope'), { scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } });
});

test('credentials come from a docker config.json, Docker Hub under its v1 URL', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  await writeFile(
    path,
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:secret:with:colons').toString('base64') },
        'reg.local:5000': { username: 'u', password: 'p' },
      },
    }),
  );
  t.deepEqual(readDockerCredentials('registry-1.docker.io', path), { username: 'hub', password: 'secret:with:colons' });
  t.deepEqual(readDockerCredentials('reg.local:5000', path), { username: 'u', password: 'p' });
  t.is(readDockerCredentials('other.io', path), undefined);
  t.is(readDockerCredentials('other.io', join(dir, 'missing.json')), undefined);
});

test('a registry with htpasswd auth: denied without credentials, pulled with them', async (t) => {
  const creds = { username: 'ci', password: 's3cret' };
  const reg = await startRegistry({ basicAuth: creds });
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
  t.teardown(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const layout = await makeOciLayout(join(dir, 'layout'), { layers: [{ 'a.txt': 'a' }] });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/private:1`, { creds });
  const content = openContentStore(join(dir, 'content'));

  const anonymous = createRegistryClient({ auth: createAuthenticator({ credentials: () => undefined }) });
  const e = await t.throwsAsync(pullImage({ client: anonymous, content, ref: `${reg.host}/private:1` }));
  t.is((e as { kind?: string }).kind, 'denied');
  t.true(e!.message.includes(`${reg.host}/private:1`), e!.message);
  t.regex((e as { hint?: string }).hint ?? '', /config\.json/);

  const withCreds = createRegistryClient({ auth: createAuthenticator({ credentials: (host) => (host === reg.host ? creds : undefined) }) });
  const pulled = await pullImage({ client: withCreds, content, ref: `${reg.host}/private:1` });
  t.is(pulled.digest, layout.digest);
});
