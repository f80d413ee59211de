// `tsbuild login` / `tsbuild logout` against a real docker-registry with htpasswd auth and one with
// token auth: the credentials are checked, then written where Docker writes them ($DOCKER_CONFIG/
// config.json, mode 0600, or a credential helper), and skopeo reads them back.
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeOciLayout, pushToRegistry, startRegistry } from '../_support/registry.ts';
import { startTokenIssuer } from '../_support/token-issuer.ts';
import { runTsbuild } from '../_support/tsbuild.ts';

const run = promisify(execFile);
const creds = { username: 'ci', password: 's3cret' };

function tsbuild(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTsbuild(args, { env, input: stdin });
}

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-login-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('login checks the password, writes config.json as docker does (0600), and logout removes it', async (t) => {
  const dir = await tempDir(t);
  const reg = await startRegistry({ basicAuth: creds });
  t.teardown(() => reg.stop());
  const env = { DOCKER_CONFIG: join(dir, 'docker') };
  const configPath = join(dir, 'docker', 'config.json');

  const wrong = await tsbuild(['login', '-u', 'ci', '--password-stdin', reg.host], env, 'nope\n');
  t.is(wrong.code, 1, wrong.stderr);
  t.regex(wrong.stderr, /login to 127\.0\.0\.1:\d+ as ci: .*401|unauthorized/i);
  t.regex(wrong.stderr, /check the username and password/);
  t.notRegex(wrong.stderr, /internal error|    at /);
  await t.throwsAsync(stat(configPath), undefined, 'nothing saved on a failed login');

  // a key the file had before survives
  await run('mkdir', ['-p', join(dir, 'docker')]);
  await writeFile(configPath, JSON.stringify({ auths: {}, psFormat: 'table {{.ID}}' }));
  const ok = await tsbuild(['login', '-u', 'ci', '--password-stdin', reg.host], env, `${creds.password}\n`);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout, 'Login Succeeded\n');
  t.regex(ok.stderr, /stored unencrypted in .*config\.json/);
  t.is((await stat(configPath)).mode & 0o777, 0o600);
  const written = JSON.parse(await readFile(configPath, 'utf8'));
  t.deepEqual(written, { auths: { [reg.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } }, psFormat: 'table {{.ID}}' });

  // skopeo finds the credentials where docker login puts them
  const layout = await makeOciLayout(join(dir, 'layout'), { layers: [{ 'a.txt': 'a' }] });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/app:1`, { creds });
  const inspected = await run('skopeo', ['inspect', '--tls-verify=false', '--authfile', configPath, `docker://${reg.host}/app:1`]);
  t.is(JSON.parse(inspected.stdout).Digest, layout.digest);

  const out = await tsbuild(['logout', reg.host], env);
  t.is(out.stdout, `Removing login credentials for ${reg.host}\n`);
  t.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { auths: {}, psFormat: 'table {{.ID}}' });
  t.is((await tsbuild(['logout', reg.host], env)).stdout, `Not logged in to ${reg.host}\n`);

  const noTty = await tsbuild(['login', reg.host], env);
  t.is(noTty.code, 1);
  t.regex(noTty.stderr, /stdin is not a terminal/);
});

test('login to a token-auth registry stores the secret in the configured credsStore helper', async (t) => {
  const dir = await tempDir(t);
  const issuer = await startTokenIssuer({ users: { [creds.username]: creds.password } });
  t.teardown(() => issuer.stop());
  const reg = await startRegistry({ token: issuer.registryConfig });
  t.teardown(() => reg.stop());
  const log = join(dir, 'helper.log');
  const helper = join(dir, 'docker-credential-tsbuildtest');
  await writeFile(helper, `#!/bin/sh\necho "$1 $(cat)" >> ${log}\n`);
  await chmod(helper, 0o755);
  const env = { DOCKER_CONFIG: join(dir, 'docker'), PATH: `${dir}:${process.env.PATH}` };
  await run('mkdir', ['-p', join(dir, 'docker')]);
  await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify({ credsStore: 'tsbuildtest' }));

  const bad = await tsbuild(['login', '-u', 'ci', '-p', 'wrong', reg.host], env);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /bad username or password/);

  const ok = await tsbuild(['login', '-u', 'ci', '-p', creds.password, reg.host], env);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stderr, /Using --password via the CLI is insecure/);
  t.notRegex(ok.stderr, /unencrypted/);
  t.deepEqual(JSON.parse(await readFile(join(dir, 'docker', 'config.json'), 'utf8')), { credsStore: 'tsbuildtest', auths: { [reg.host]: {} } });
  t.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [`store {"ServerURL":"${reg.host}","Username":"ci","Secret":"s3cret"}`]);

  await tsbuild(['logout', reg.host], env);
  t.is((await readFile(log, 'utf8')).trim().split('\n')[1], `erase ${reg.host}`);
});
