// issue 7 item 4: damaged image metadata (a config that is not JSON, fields of the wrong type,
// "layers": null, an index whose manifests are not a list) fails with a message naming the image,
// the document and the field, from a registry and from an OCI layout alike; never a stack trace.
import test from 'ava';
import { join } from 'node:path';
import { buildOnCrafted, craftImage, writeLayout, type CraftedImage, type CraftOptions } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

async function build(t: { teardown(fn: () => void): void }, img: CraftedImage, via: 'layout' | 'registry') {
  const r = await buildOnCrafted(t, img, via, (from) => `FROM ${from}\nENV A=1\n`);
  return { ...r, error: r.stderr.split('\n').find((l) => l.startsWith('ERROR: ')) ?? '' };
}

const cases: [string, CraftOptions, string, string][] = [
  ['a config that is not JSON', { configBytes: Buffer.from('{"architecture": "amd64", "os": ') }, 'config', 'is not JSON'],
  ['config.config a string', { config: (c) => ({ ...c, config: 'sh -c true' }) }, 'config', '"config" is a string, expected an object'],
  ['config.config.User a number', { config: (c) => ({ ...c, config: { User: 1000 } }) }, 'config', '"config.User" is a number, expected a string'],
  ['config.rootfs.diff_ids not a list', { config: (c) => ({ ...c, rootfs: { type: 'layers', diff_ids: 'sha256:x' } }) }, 'config', '"rootfs.diff_ids" is a string, expected a list'],
  ['"layers": null', { manifest: (m) => ({ ...m, layers: null }) }, 'manifest', '"layers" is null, expected a list'],
  ['a manifest whose config size is a string', { manifest: (m) => ({ ...m, config: { ...(m.config as object), size: '12' } }) }, 'manifest', '"config.size" is a string, expected a number'],
  ['a manifest with schemaVersion 3', { manifest: (m) => ({ ...m, schemaVersion: 3 }) }, 'manifest', '"schemaVersion" is 3, expected 2'],
];

for (const [name, opts, document, field] of cases) {
  for (const via of ['registry', 'layout'] as const) {
    test(`issue 7: ${name} (${via}) is IMAGE_INVALID naming the image, the ${document} and the field`, async (t) => {
      const img = craftImage({ layers: [await tarOf({ 'a.txt': 'a' })], ...opts });
      const r = await build(t, img, via);
      t.is(r.code, 1, r.stderr);
      t.true(r.error.includes(`image ${r.image}: ${document} sha256:`), r.error);
      t.true(r.error.includes(field), r.error);
      t.notRegex(r.stderr, /internal error|    at /);
    });
  }
}

test('issue 7: an index whose manifests is not a list (registry) names the field', async (t) => {
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: { linux: 'amd64' } }));
  const r = await build(t, { ...craftImage({}), manifest: index }, 'registry');
  t.is(r.code, 1, r.stderr);
  t.true(r.error.includes(`image ${r.image}: index sha256:`) && r.error.includes('"manifests" is an object, expected a list'), r.error);
});

test('issue 7: an OCI layout index.json with wrong types names the field', async (t) => {
  const layout = tempDir('tsbuild-layout-');
  t.teardown(() => removeDir(layout));
  writeLayout(layout, craftImage({}));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 42, size: 1 }] }));
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM base\n' });
  t.teardown(() => {
    removeDir(root);
    removeDir(ctx);
  });
  const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${layout}`, ctx], { root });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /ERROR: .*image oci-layout:\/\/\S+: index: "manifests\[0\]\.digest" is a number, expected a string/);
  t.notRegex(r.stderr, /internal error|    at /);
});

test('issue 7: an OCI layout whose index.json or a blob is a FIFO, or a blob longer than its descriptor, fails at once', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { rmSync, writeFileSync } = await import('node:fs');
  const img = craftImage({ layers: [await tarOf({ 'a.txt': 'a' })] });
  const layer = (JSON.parse(img.manifest.toString()) as { layers: { digest: string }[] }).layers[0].digest;
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM base\n' });
  const layouts = [tempDir('tsbuild-layout-'), tempDir('tsbuild-layout-'), tempDir('tsbuild-layout-')];
  t.teardown(() => [root, ctx, ...layouts].forEach(removeDir));
  const [fifoIndex, fifoBlob, longBlob] = layouts.map((d) => writeLayout(d, img));
  rmSync(join(fifoIndex, 'index.json'));
  execFileSync('mkfifo', [join(fifoIndex, 'index.json')]);
  rmSync(join(fifoBlob, 'blobs/sha256', layer.slice(7)));
  execFileSync('mkfifo', [join(fifoBlob, 'blobs/sha256', layer.slice(7))]);
  writeFileSync(join(longBlob, 'blobs/sha256', layer.slice(7)), Buffer.alloc(8 * 1024 * 1024, 1));
  const build = (dir: string) => runTsbuild(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${dir}`, ctx], { root });
  const started = Date.now();
  const [a, b, c] = [await build(fifoIndex), await build(fifoBlob), await build(longBlob)];
  t.true(Date.now() - started < 30_000, 'no hang');
  t.regex(a.stderr, /ERROR: .*oci-layout:\/\/\S+: no readable index\.json: cannot read oci-layout:\/\/\S+\/index\.json: it is a FIFO, not a regular file/);
  t.regex(b.stderr, new RegExp(`ERROR: .*cannot read blob ${layer} of oci-layout://\\S+: it is a FIFO, not a regular file`));
  t.regex(c.stderr, new RegExp(`ERROR: .*oci-layout://\\S+: blob ${layer} is longer than the \\d+ bytes its descriptor says`));
  for (const r of [a, b, c]) {
    t.is(r.code, 1);
    t.notRegex(r.stderr, /internal error|    at /);
  }
});
