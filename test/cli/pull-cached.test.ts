// A registry base image's layers are fetched by the FROM step itself (with the build's signal and
// progress), not while the Dockerfile is converted; a rebuild whose steps are cached needs no
// layer, and one pinned by digest needs no registry at all: it still builds with the registry down.
import test from 'ava';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';
import { makeOciLayout, pushToRegistry, startRegistry, type TestLayout, type TestRegistry } from '../_support/registry.ts';

const work = tempDir('tsbuild-pull-cached-');
let registry: TestRegistry;
let layout: TestLayout;

test.before(async () => {
  registry = await startRegistry();
  layout = await makeOciLayout(join(work, 'layout'), { layers: [{ 'base.txt': 'base\n' }, { 'etc/motd': 'hello\n' }], tag: '1' });
  await pushToRegistry(`oci:${layout.dir}:1`, `${registry.host}/base/small:1`);
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
});

type Event = { type: string; vertex?: { name: string }; id?: string };
const eventsOf = (stderr: string) => parseRawJson(stderr);

test('layers come with the FROM step; with the registry stopped a pinned, cached rebuild still builds and a tag says why it cannot', async (t) => {
  const root = join(work, 'root');
  const pinned = contextDir({ Dockerfile: `FROM ${registry.host}/base/small@${layout.digest}\nCOPY app.txt /app.txt\n`, 'app.txt': 'app\n' });
  const tagged = contextDir({ Dockerfile: `FROM ${registry.host}/base/small:1\nCOPY app.txt /app.txt\n`, 'app.txt': 'app\n' });
  try {
    const first = await runTsbuild(['build', '--progress', 'rawjson', pinned], { root });
    t.is(first.code, 0, first.stderr);
    // each layer's bytes are reported under the FROM step, which fetched them
    const layerProgress = eventsOf(first.stderr).filter((e) => e.type === 'vertex.progress' && layout.manifests[0].layerDigests.includes(e.id ?? ''));
    t.deepEqual([...new Set(layerProgress.map((e) => e.id))].sort(), [...layout.manifests[0].layerDigests].sort());
    t.true(layerProgress.every((e) => /FROM /.test(e.vertex!.name)), layerProgress.map((e) => e.vertex!.name).join('\n'));
    t.is((await runTsbuild(['build', '--progress', 'plain', tagged], { root })).code, 0);

    await registry.stop();
    const again = await runTsbuild(['build', '--progress', 'plain', pinned], { root });
    t.is(again.code, 0, again.stderr);
    t.regex(again.stderr, /COPY app\.txt \/app\.txt\n#\d+ CACHED/);
    // --no-cache reruns the COPY on the image unpacked before: still no registry needed
    const noCache = await runTsbuild(['build', '--progress', 'plain', '--no-cache', pinned], { root });
    t.is(noCache.code, 0, noCache.stderr);
    // a tag must be asked of its registry, as docker build does: the error says which and why
    const byTag = await runTsbuild(['build', '--progress', 'plain', tagged], { root });
    t.is(byTag.code, 1);
    t.regex(byTag.stderr, new RegExp(`${registry.host.replace(/\./g, '\\.')}/base/small:1`));
    t.notRegex(byTag.stderr, /^\s+at /m);
  } finally {
    removeDir(pinned);
    removeDir(tagged);
  }
});
