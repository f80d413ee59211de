// Registry auth: challenge parsing, Docker config credentials, and Basic auth against a real
// docker-registry with htpasswd.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';
import { createAuthenticator, createRegistryClient, mergeScopes, parseChallenge, pullImage, readDockerCredentials, resolveDockerCredentials } from '../../src/registry/index.ts';
import { startTokenIssuer } from '../_support/token-issuer.ts';
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

test('config.json: credHelpers before credsStore before auths; identity tokens; keys written as URLs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.json');
  const helper = join(dir, 'docker-credential-fake');
  // answers for one server only, as a real helper does
  await writeFile(helper, '#!/bin/sh\nread -r s\n[ "$s" = helped.io ] && echo \'{"ServerURL":"helped.io","Username":"<token>","Secret":"refresh-1"}\' && exit 0\necho "credentials not found in native keychain"; exit 1\n', { mode: 0o755 });
  process.env.PATH = `${dir}:${process.env.PATH}`;
  await writeFile(
    path,
    JSON.stringify({
      credHelpers: { 'helped.io': 'fake' },
      auths: {
        'https://reg.local:5000/v1/': { username: 'u', password: 'p' },
        'tokened.io': { identitytoken: 'refresh-2' },
        'helped.io': { auth: Buffer.from('file:secret').toString('base64') },
      },
    }),
  );
  t.deepEqual(await resolveDockerCredentials('helped.io', path), { username: '', password: '', identityToken: 'refresh-1' });
  t.deepEqual(await resolveDockerCredentials('reg.local:5000', path), { username: 'u', password: 'p' });
  t.deepEqual(await resolveDockerCredentials('tokened.io', path), { username: '', password: '', identityToken: 'refresh-2' });
  t.is(await resolveDockerCredentials('other.io', path), undefined);

  // credsStore for the rest: the helper has nothing for other.io, so the auths entry stands
  await writeFile(path, JSON.stringify({ credsStore: 'fake', auths: { 'other.io': { auth: Buffer.from('o:p').toString('base64') } } }));
  t.deepEqual(await resolveDockerCredentials('other.io', path), { username: 'o', password: 'p' });
  t.deepEqual(await resolveDockerCredentials('helped.io', path), { username: '', password: '', identityToken: 'refresh-1' });

  await writeFile(path, '{"auths": ');
  const e = await t.throwsAsync(resolveDockerCredentials('other.io', path));
  t.like(e, { code: 'CONFIG_INVALID' });
  t.true(e!.message.startsWith(`${path}: not valid JSON`), e!.message);
});

test('scopes for one repository merge into one', (t) => {
  t.deepEqual(mergeScopes(['repository:a:pull', 'repository:a:pull,push', 'repository:b:pull']), ['repository:a:pull,push', 'repository:b:pull']);
  t.deepEqual(mergeScopes('repository:a:pull'), ['repository:a:pull']);
});

test('token auth with an identity token: exchanged at the token service as an OAuth2 refresh token', async (t) => {
  const issuer = await startTokenIssuer({ users: { ci: 'pw' }, refreshTokens: { 'refresh-ci': 'ci' } });
  const reg = await startRegistry({ token: issuer.registryConfig });
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
  t.teardown(async () => {
    await reg.stop();
    await issuer.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const layout = await makeOciLayout(join(dir, 'layout'), { layers: [{ 'a.txt': 'a' }] });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/private/app:1`, { creds: { username: 'ci', password: 'pw' } });
  const client = (identityToken: string) => createRegistryClient({ auth: createAuthenticator({ credentials: () => ({ username: '', password: '', identityToken }) }) });

  issuer.requests.length = 0;
  const pulled = await pullImage({ client: client('refresh-ci'), content: openContentStore(join(dir, 'content')), ref: `${reg.host}/private/app:1` });
  t.is(pulled.digest, layout.digest);
  t.deepEqual(issuer.requests, [{ user: 'ci', scopes: ['repository:private/app:pull'], method: 'POST' }]);

  const e = await t.throwsAsync(pullImage({ client: client('nope'), content: openContentStore(join(dir, 'other')), ref: `${reg.host}/private/app:1` }));
  t.like(e, { kind: 'denied' });
  t.regex(e!.message, new RegExp(`pull access denied for ${reg.host.replace(/\./g, '\\.')}/private/app`));
});

test('a challenge naming a token service that is not http(s), or plain HTTP elsewhere, gets no credentials', async (t) => {
  let realm = '';
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="x"` });
    res.end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const client = () => createRegistryClient({ auth: createAuthenticator({ credentials: () => ({ username: 'ci', password: 'secret' }) }) });
  for (const [given, said] of [
    ['file:///etc/passwd', /names a token service that is not an http\(s\) URL: "file:\/\/\/etc\/passwd"/],
    ['http://192.0.2.1/token', /names a token service over plain HTTP \(http:\/\/192\.0\.2\.1\); credentials are not sent there/],
  ] as const) {
    realm = given;
    const e = await t.throwsAsync(pullImage({ client: client(), content: openContentStore(join(dir, 'c')), ref: `${host}/app:1` }));
    t.like(e, { code: 'REGISTRY_ERROR', kind: 'denied' });
    t.regex(e!.message, said);
  }
  t.true(asked.every((u) => u.startsWith('/v2/')), 'nothing else was asked of anyone');
});
