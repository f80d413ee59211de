// Issue 9: `--pull` asks the registry for every base image. Without it a tag in the local store is
// used as it is (as `docker build` does with an image it has), so a tag that moved in the registry
// changes nothing; with it the new digest is used, and every step on it reruns.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';
import { makeOciLayout, pushToRegistry, startRegistry, unreachableRegistryHost, type TestRegistry } from '../_support/registry.ts';

const work = tempDir('tsbuild-pull-flag-');
let registry: TestRegistry;

test.before(async () => {
  registry = await startRegistry();
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
});

type Event = { type: string; vertex?: { name: string }; reason?: string };
/** The events of the last `build`, for the reasons its steps give. */
let lastEvents: Event[] = [];
/** The reason the step named like `name` gave in the last build for running though a result existed. */
const reasonOf = (name: RegExp) => lastEvents.find((e) => e.reason !== undefined && name.test(e.vertex?.name ?? ''))?.reason?.replace(/ \(since the build of [\d-]+ [\d:]+\)$/, '');

/** Builds `ctx` into `out` (a local directory); the Dockerfile steps that ran, not cached. */
async function build(root: string, ctx: string, out: string, flags: string[] = []): Promise<string[]> {
  const r = await runTsbuild(['build', '--progress', 'rawjson', '--insecure-registry', registry.host, '-o', `type=local,dest=${out}`, ...flags, ctx], { root });
  if (r.code !== 0) throw new Error(r.stderr);
  const events = parseRawJson(r.stderr);
  lastEvents = events;
  const cached = new Set(events.filter((e) => e.type === 'vertex.cached').map((e) => e.vertex!.name));
  return events.filter((e) => e.type === 'vertex.done' && !cached.has(e.vertex!.name) && / COPY /.test(e.vertex!.name)).map((e) => e.vertex!.name);
}

test('a tag that moved in the registry: without --pull the stored image and its cache, with --pull the new image and a rerun', async (t) => {
  const ref = `${registry.host}/base/moving:1`;
  const v1 = await makeOciLayout(join(work, 'v1'), { layers: [{ 'version.txt': 'v1\n' }], tag: '1' });
  const v2 = await makeOciLayout(join(work, 'v2'), { layers: [{ 'version.txt': 'v2\n' }], tag: '1' });
  await pushToRegistry(`oci:${v1.dir}:1`, ref);
  const root = join(work, 'root');
  const out = join(work, 'out');
  // the image into the local store under its registry name, as `docker pull` would
  const pull = contextDir({ Dockerfile: `FROM ${ref}\n` });
  const app = contextDir({ Dockerfile: `FROM ${ref}\nCOPY app.txt /app.txt\n`, 'app.txt': 'app\n' });
  try {
    const pulled = await runTsbuild(['build', '--progress', 'plain', '--insecure-registry', registry.host, '-t', ref, pull], { root });
    t.is(pulled.code, 0, pulled.stderr);
    t.deepEqual(await build(root, app, out), ['[2/2] COPY app.txt /app.txt']);
    t.is(readFileSync(join(out, 'version.txt'), 'utf8'), 'v1\n');

    await pushToRegistry(`oci:${v2.dir}:1`, ref);
    t.deepEqual(await build(root, app, out), [], 'without --pull: the stored v1, every step cached');
    t.is(readFileSync(join(out, 'version.txt'), 'utf8'), 'v1\n');

    t.deepEqual(await build(root, app, out, ['--pull']), ['[2/2] COPY app.txt /app.txt'], 'with --pull: v2, so the COPY on it reruns');
    t.is(readFileSync(join(out, 'version.txt'), 'utf8'), 'v2\n');
    t.is(readFileSync(join(out, 'app.txt'), 'utf8'), 'app\n');

    t.deepEqual(await build(root, app, out, ['--pull']), [], 'v2 again: cached');
  } finally {
    removeDir(pull);
    removeDir(app);
  }
});

test('the rerun --pull causes is explained: the FROM names both digests, the step on it names the FROM', async (t) => {
  const ref = `${registry.host}/base/explained:1`;
  const v1 = await makeOciLayout(join(work, 'e1'), { layers: [{ 'version.txt': 'v1\n' }], tag: '1' });
  const v2 = await makeOciLayout(join(work, 'e2'), { layers: [{ 'version.txt': 'v2\n' }], tag: '1' });
  await pushToRegistry(`oci:${v1.dir}:1`, ref);
  const root = join(work, 'root-explained');
  const out = join(work, 'out-explained');
  const app = contextDir({ Dockerfile: `FROM ${ref}\nCOPY app.txt /app.txt\n`, 'app.txt': 'app\n' });
  try {
    t.deepEqual(await build(root, app, out), ['[2/2] COPY app.txt /app.txt']);
    await pushToRegistry(`oci:${v2.dir}:1`, ref);
    t.deepEqual(await build(root, app, out, ['--pull']), ['[2/2] COPY app.txt /app.txt']);
    t.regex(reasonOf(/\] FROM /) ?? '', /^base image digest changed \(sha256:[0-9a-f]{12}… → sha256:[0-9a-f]{12}…\)$/);
    t.is(reasonOf(/ COPY app\.txt /), `earlier step "[1/2] FROM ${ref}" changed`);
  } finally {
    removeDir(app);
  }
});

test('--pull on an image only the local store has says so, without a stack', async (t) => {
  const root = join(work, 'root-local');
  const base = contextDir({ Dockerfile: 'FROM scratch\nCOPY f.txt /f.txt\n', 'f.txt': 'f\n' });
  const app = contextDir({ Dockerfile: `FROM ${registry.host}/only/local:1\nCOPY g.txt /g.txt\n`, 'g.txt': 'g\n' });
  try {
    t.is((await runTsbuild(['build', '--progress', 'plain', '-t', `${registry.host}/only/local:1`, base], { root })).code, 0);
    const plain = await runTsbuild(['build', '--progress', 'plain', app], { root });
    t.is(plain.code, 0, plain.stderr);
    const pulled = await runTsbuild(['build', '--progress', 'plain', '--insecure-registry', registry.host, '--pull', app], { root });
    t.is(pulled.code, 1, pulled.stderr);
    t.regex(pulled.stderr, /only\/local:1/);
    t.regex(pulled.stderr, /build without --pull to use the local one/);
    t.notRegex(pulled.stderr, /^\s+at /m);
  } finally {
    removeDir(base);
    removeDir(app);
  }
});

test('--pull with the registry unreachable names the local image too, beside the registry\'s own hint', async (t) => {
  const root = join(work, 'root-offline');
  const down = { host: unreachableRegistryHost };
  const ref = `${down.host}/offline/base:1`;
  const base = contextDir({ Dockerfile: 'FROM scratch\nCOPY f.txt /f.txt\n', 'f.txt': 'f\n' });
  const app = contextDir({ Dockerfile: `FROM ${ref}\nCOPY g.txt /g.txt\n`, 'g.txt': 'g\n' });
  try {
    t.is((await runTsbuild(['build', '--progress', 'plain', '-t', ref, base], { root })).code, 0);
    const pulled = await runTsbuild(['build', '--progress', 'plain', '--insecure-registry', down.host, '--pull', app], { root });
    t.is(pulled.code, 1, pulled.stderr);
    t.regex(pulled.stderr, /^ERROR: .*cannot reach registry .*connection refused/m);
    t.regex(pulled.stderr, /^hint: is the registry running\?.*; or: ".*offline\/base:1" is in the local store, .*build without --pull to use the local one$/m);
    t.notRegex(pulled.stderr, /^\s+at /m);
    t.is((await runTsbuild(['build', '--progress', 'plain', app], { root })).code, 0, 'without --pull the local one builds');
  } finally {
    removeDir(base);
    removeDir(app);
  }
});
