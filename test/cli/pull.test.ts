// FROM an image that only a registry has: tsbuild pulls it (anonymous, plain HTTP on loopback)
// from a real docker-registry started here.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { pushToRegistry, startRegistry, type TestRegistry } from '../_support/registry.ts';

const work = tempDir('tsbuild-pull-');
let registry: TestRegistry;

test.before(async () => {
  registry = await startRegistry();
  const builder = join(work, 'builder-root');
  await buildBusybox(builder);
  const tar = join(work, 'busybox.oci.tar');
  const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', 'busybox-bin=/usr/bin', '--output', `type=oci,dest=${tar}`, join(import.meta.dirname, '..', '..', 'fixtures', 'busybox')], { root: builder });
  if (r.code !== 0) throw new Error(r.stderr);
  await pushToRegistry(`oci-archive:${tar}`, `${registry.host}/base/busybox:1`);
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
});

test('FROM a registry image pulls it into a fresh store and builds on it', async (t) => {
  const root = join(work, 'fresh-root');
  const ctx = contextDir({ Dockerfile: `FROM ${registry.host}/base/busybox:1\nRUN echo pulled > /proof.txt\nCMD ["cat", "/proof.txt"]\n` });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'from-registry', ctx], { root });
    t.is(r.code, 0, r.stderr);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${join(root, 'content')}:from-registry:latest`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] }; config: { Cmd: string[] } };
    t.deepEqual(inspect.config.Cmd, ['cat', '/proof.txt']);
    t.is(inspect.rootfs.diff_ids.length, 5, 'the base\'s four layers and the RUN\'s');
  } finally {
    removeDir(ctx);
  }
});

test('an image missing from the registry is a clear error naming it', async (t) => {
  const ctx = contextDir({ Dockerfile: `FROM ${registry.host}/base/nothing:1\nRUN true\n` });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root: join(work, 'other-root') });
    t.is(r.code, 1);
    t.regex(r.stderr, new RegExp(`ERROR: .*${registry.host.replace(/\./g, '\\.')}/base/nothing:1.*not found`));
    t.notRegex(r.stderr, /^\s+at /m);
  } finally {
    removeDir(ctx);
  }
});

test('--push sends the image to the registry under its -t name', async (t) => {
  const root = join(work, 'push-root');
  await buildBusybox(root);
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo pushed > /proof.txt\nLABEL stage=pushed\n' });
  try {
    const name = `${registry.host}/team/pushed:1`;
    const r = await runTsbuild(['build', '--progress', 'plain', '--push', '-t', name, ctx], { root });
    t.is(r.code, 0, r.stderr);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Labels: Record<string, string>; Layers: string[] };
    t.is(inspect.Labels.stage, 'pushed');
    t.is(inspect.Layers.length, 5);
    // and a fresh store builds on what was pushed
    const ctx2 = contextDir({ Dockerfile: `FROM ${name}\nRUN cat /proof.txt\n` });
    const r2 = await runTsbuild(['build', '--progress', 'plain', ctx2], { root: join(work, 'push-consumer-root') });
    removeDir(ctx2);
    t.is(r2.code, 0, r2.stderr);
    t.regex(r2.stderr, /pushed/);
  } finally {
    removeDir(ctx);
  }
});
