// `tsbuild build --push` as a user meets it (issue 10): a registry with htpasswd auth and the
// credentials in $DOCKER_CONFIG/config.json; wrong credentials; a registry that is down (a clear
// error, and no tag left behind by a push-only output); a Docker Hub name shown in full.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { startRegistry, unreachableRegistryHost, type TestRegistry } from '../_support/registry.ts';

const work = tempDir('tsbuild-push-auth-');
const creds = { username: 'ci', password: 's3cret' };
const root = join(work, 'root');
let registry: TestRegistry;
let ctx: string;

const dockerConfig = (name: string, password: string) => {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${creds.username}:${password}`).toString('base64') } } }));
  return { DOCKER_CONFIG: dir };
};

test.before(async () => {
  registry = await startRegistry({ basicAuth: creds });
  await buildBusybox(root);
  ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo pushed > /proof.txt\n' });
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(ctx);
  removeDir(work);
});

test.serial('--push with credentials from $DOCKER_CONFIG/config.json: every blob goes up', async (t) => {
  const name = `${registry.host}/team/app:1`;
  const r = await runTsbuild(['build', '--progress', 'plain', '--push', '-t', name, ctx], { root, env: dockerConfig('good', creds.password) });
  t.is(r.code, 0, r.stderr);
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `--creds=${creds.username}:${creds.password}`, `docker://${name}`], { encoding: 'utf8' })) as { Layers: string[] };
  t.is(inspect.Layers.length, 5);
});

test.serial('--push with a wrong password says the registry refused it and how to log in', async (t) => {
  const r = await runTsbuild(['build', '--progress', 'plain', '--push', '-t', `${registry.host}/team/app:2`, ctx], { root, env: dockerConfig('bad', 'wrong') });
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`ERROR: .*${registry.host.replace(/\./g, '\\.')}/team/app`));
  t.regex(r.stderr, new RegExp(`hint: .*tsbuild login ${registry.host.replace(/\./g, '\\.')}`));
  t.notRegex(r.stderr, /internal error|^\s+at /m);
});

test.serial('a push-only output to a registry that is down: a clear error, and its name is not left in the store', async (t) => {
  const down = { host: unreachableRegistryHost };
  const name = `${down.host}/team/app:1`;
  const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=registry,name=${name}`, ctx], { root });
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`ERROR: cannot reach registry ${down.host.replace(/\./g, '\\.')} \\(for ${down.host.replace(/\./g, '\\.')}/team/app\\): connection refused`));
  t.notRegex(r.stderr, /internal error|This is a bug/);
  const images = await runTsbuild(['images'], { root });
  t.false(images.stdout.includes(`${down.host}/team/app`), images.stdout);
  // -t with --push names what is pushed: a failed push leaves it behind no more than -o's name
  const pushed = await runTsbuild(['build', '--progress', 'plain', '--push', '-t', name, ctx], { root });
  t.is(pushed.code, 1);
  t.false((await runTsbuild(['images'], { root })).stdout.includes(`${down.host}/team/app`));
});

test.serial('FROM a Docker Hub image that cannot be had names it in full', async (t) => {
  const c = contextDir({ Dockerfile: 'FROM nosuchimage:1.0\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', c], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /docker\.io\/library\/nosuchimage/);
    t.notRegex(r.stderr, /internal error|^\s+at /m);
  } finally {
    removeDir(c);
  }
});
