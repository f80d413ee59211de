// Registry images too big for the store or the runtime, refused before their bulk is fetched:
// - a config over the 8 MiB the image store reads (but under the 64 MiB a cache config may be):
//   pull took it, and then every `images`, `rmi` and `prune` failed on it, with no way to remove it;
// - more layers than tsbuild takes (twice what overlayfs stacks): 22,000 tiny ones were fetched and
//   unpacked for minutes before the step could not mount them, and the chain left prune out of memory.
import test from 'ava';
import { join } from 'node:path';
import { craftImage, startCraftedRegistry, type CraftedRegistry } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const work = tempDir('tsbuild-big-config-');
let reg: CraftedRegistry;
let deep: CraftedRegistry;

test.before(async () => {
  const layers = await Promise.all(Array.from({ length: 1001 }, (_, i) => tarOf({ [`l${i}.txt`]: `${i}\n` })));
  deep = await startCraftedRegistry(craftImage({ layers }));
  // 9 MiB of one label: valid JSON, a valid image otherwise
  const img = craftImage({ layers: [await tarOf({ 'a.txt': 'a\n' })], config: (c) => ({ ...c, config: { ...(c.config as object), Labels: { big: 'x'.repeat(9 << 20) } } }) });
  reg = await startCraftedRegistry(img);
});
test.after.always(async () => {
  await reg?.stop();
  await deep?.stop();
  removeDir(work);
});

test('a config over 8 MiB is refused by pull and by FROM before it is fetched; the store stays usable', async (t) => {
  const root = join(work, 'root');
  const name = `${reg.host}/x/big:1`;
  const pull = await runTsbuild(['pull', name], { root });
  t.is(pull.code, 1, pull.stderr);
  t.regex(pull.stderr, /^ERROR: .*x\/big.*its config is \d+ bytes, more than the 8388608 bytes \(8 MiB\) an image config may have/m);
  const ctx = contextDir({ Dockerfile: `FROM ${name}\n` });
  t.teardown(() => removeDir(ctx));
  const build = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
  t.is(build.code, 1, build.stderr);
  t.regex(build.stderr, /more than the 8388608 bytes \(8 MiB\) an image config may have/);
  t.false(reg.requests.some((r) => r.includes('/blobs/')), 'no blob was fetched');
  const images = await runTsbuild(['images', '-a'], { root });
  t.is(images.code, 0, images.stderr);
  t.is((await runTsbuild(['prune', '-a', '-f'], { root })).code, 0);
});

test('an image of more layers than tsbuild takes is refused before its layers are fetched or unpacked', async (t) => {
  const root = join(work, 'deep');
  const ctx = contextDir({ Dockerfile: `FROM ${deep.host}/x/deep:1\nRUN true\n` });
  t.teardown(() => removeDir(ctx));
  const build = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
  t.is(build.code, 1, build.stderr);
  t.regex(build.stderr, /x\/deep:1: 1001 layers, more than the 1000 tsbuild takes from an image \(a step can mount at most 500\)/);
  const pull = await runTsbuild(['pull', `${deep.host}/x/deep:1`], { root });
  t.is(pull.code, 1, pull.stderr);
  t.regex(pull.stderr, /x\/deep:1: 1001 layers, more than the 1000 tsbuild takes from an image/);
  const blobReads = deep.requests.filter((r) => r.includes('/blobs/'));
  t.deepEqual(blobReads, [], 'neither the config nor a layer is fetched');
  t.is((await runTsbuild(['prune', '-a', '-f'], { root })).code, 0);
});
