// Pushing to registries that want credentials: htpasswd (Basic) with credentials from a Docker
// config.json and from a docker-credential-* helper, and token auth (a real docker-registry
// trusting a token service the test runs). Many blobs go up at once: they must share one
// credential lookup and one token, not race each other into 401s (issue 10).
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openContentStore, type ContentStore } from '../../src/content/index.ts';
import { createAuthenticator, createRegistryClient, pullImage, pushImage, resolveDockerCredentials } from '../../src/registry/index.ts';
import { createImageView } from '../../exporter/index.ts';
import { gzipLayer, startRegistry } from '../_support/registry.ts';
import { startTokenIssuer } from '../_support/token-issuer.ts';

const run = promisify(execFile);
const creds = { username: 'ci', password: 's3cret' };

/** An image of `n` small layers in a fresh content store. */
async function imageOf(dir: string, n: number) {
  const content = openContentStore(join(dir, 'content'));
  const layers = [];
  for (let i = 0; i < n; i++) layers.push(await gzipLayer({ [`f${i}.txt`]: `layer ${i} `.repeat(1000 + i) }));
  for (const l of layers) await content.putBytes(l.gz);
  const view = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/a'] }, rootfs: { type: 'layers', diff_ids: [] } },
    layers: layers.map((l) => ({ diffId: l.diffId, digest: l.digest, size: l.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false })),
    content,
  });
  return { content: content as ContentStore, view, layers };
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-push-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('htpasswd registry: 6 blobs pushed at once with credentials from config.json auths', async (t) => {
  const dir = await tempDir(t);
  const reg = await startRegistry({ basicAuth: creds });
  t.teardown(() => reg.stop());
  const configPath = join(dir, 'docker', 'config.json');
  await mkdir(join(dir, 'docker'));
  await writeFile(configPath, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } } }));
  let lookups = 0;
  const auth = createAuthenticator({ credentials: (host) => (lookups++, resolveDockerCredentials(host, configPath)) });
  const { content, view, layers } = await imageOf(dir, 5);
  await pushImage({ client: createRegistryClient({ auth, concurrency: 6 }), content, ref: `${reg.host}/team/app:1`, descriptor: view.manifestDescriptor });
  t.is(lookups, 1, 'one credential lookup for the registry');
  const info = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `--creds=${creds.username}:${creds.password}`, `docker://${reg.host}/team/app:1`])).stdout);
  t.is(info.Digest, view.manifestDescriptor.digest);
  t.deepEqual(info.Layers, layers.map((l) => l.digest));
});

test('htpasswd registry: credentials from a docker-credential helper, asked once; a wrong password says how to log in', async (t) => {
  const dir = await tempDir(t);
  const reg = await startRegistry({ basicAuth: creds });
  t.teardown(() => reg.stop());
  const log = join(dir, 'helper.log');
  const helper = join(dir, 'docker-credential-tsbuildtest');
  await writeFile(
    helper,
    [
      '#!/bin/sh',
      'read -r server',
      `echo "$1 $server" >> ${log}`,
      `if [ "$1" = get ] && [ "$server" = "${reg.host}" ]; then`,
      `  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" "$HELPER_USER" "$HELPER_SECRET"`,
      '  exit 0',
      'fi',
      'echo "credentials not found in native keychain"',
      'exit 1',
      '',
    ].join('\n'),
  );
  await chmod(helper, 0o755);
  process.env.PATH = `${dir}:${process.env.PATH}`;
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({ credHelpers: { [reg.host]: 'tsbuildtest' } }));
  process.env.HELPER_USER = creds.username;
  process.env.HELPER_SECRET = creds.password;
  const { content, view } = await imageOf(dir, 4);
  const client = () => createRegistryClient({ auth: createAuthenticator({ credentials: (host) => resolveDockerCredentials(host, configPath) }), concurrency: 5 });
  await pushImage({ client: client(), content, ref: `${reg.host}/helper/app:1`, descriptor: view.manifestDescriptor });
  t.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [`get ${reg.host}`], 'the helper ran once');
  const pulled = await pullImage({ client: client(), content: openContentStore(join(dir, 'other')), ref: `${reg.host}/helper/app:1` });
  t.is(pulled.digest, view.manifestDescriptor.digest);

  process.env.HELPER_SECRET = 'wrong';
  const e = await t.throwsAsync(pushImage({ client: client(), content, ref: `${reg.host}/helper/app:2`, descriptor: view.manifestDescriptor }));
  t.like(e, { code: 'REGISTRY_ERROR', kind: 'denied' });
  t.true(e!.message.includes(`${reg.host}/helper/app`), e!.message);
  t.regex((e as { hint?: string }).hint ?? '', new RegExp(`refused.*tsbuild login ${reg.host.replace(/\./g, '\\.')}`));

  // a helper that is not installed is a clear error, not a crash
  await writeFile(configPath, JSON.stringify({ credsStore: 'nosuchhelper' }));
  const missing = await t.throwsAsync(pushImage({ client: client(), content, ref: `${reg.host}/helper/app:3`, descriptor: view.manifestDescriptor }));
  t.like(missing, { code: 'CREDENTIALS_UNAVAILABLE', message: 'credential helper docker-credential-nosuchhelper get: the program is not installed' });
});

test('token auth: anonymous pull of a public repository, push with credentials, one token per scope, cross-repo mount', async (t) => {
  const dir = await tempDir(t);
  const issuer = await startTokenIssuer({ users: { [creds.username]: creds.password } });
  t.teardown(() => issuer.stop());
  const reg = await startRegistry({ token: issuer.registryConfig });
  t.teardown(() => reg.stop());
  const { content, view, layers } = await imageOf(dir, 5);
  const withCreds = () => createRegistryClient({ auth: createAuthenticator({ credentials: (host) => (host === reg.host ? creds : undefined) }), concurrency: 6 });

  await pushImage({ client: withCreds(), content, ref: `${reg.host}/public/app:1`, descriptor: view.manifestDescriptor });
  // one token for repository:public/app:pull,push, shared by all six blobs and the manifest
  t.deepEqual(
    issuer.requests.map((r) => [r.user, r.scopes.join(' ')]),
    [[creds.username, `repository:public/app:pull,push`]],
  );

  // anonymous: pulled from public/, refused on a push
  const anonymous = createRegistryClient({ auth: createAuthenticator({ credentials: () => undefined }) });
  const pulled = await pullImage({ client: anonymous, content: openContentStore(join(dir, 'anon')), ref: `${reg.host}/public/app:1` });
  t.is(pulled.digest, view.manifestDescriptor.digest);
  const e = await t.throwsAsync(pushImage({ client: anonymous, content, ref: `${reg.host}/public/other:1`, descriptor: view.manifestDescriptor }));
  t.like(e, { kind: 'denied' });
  t.regex((e as { hint?: string }).hint ?? '', /tsbuild login 127\.0\.0\.1:\d+/);

  // a mount from another repository: the token covers both (pull on the source)
  issuer.requests.length = 0;
  await pushImage({ client: withCreds(), content, ref: `${reg.host}/team/copy:1`, descriptor: view.manifestDescriptor, mountFrom: ['public/app'] });
  t.true(
    issuer.requests.some((r) => r.scopes.includes('repository:public/app:pull') && r.scopes.includes('repository:team/copy:pull,push')),
    JSON.stringify(issuer.requests),
  );
  const info = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `--creds=${creds.username}:${creds.password}`, `docker://${reg.host}/team/copy:1`])).stdout);
  t.deepEqual(info.Layers, layers.map((l) => l.digest));
});
