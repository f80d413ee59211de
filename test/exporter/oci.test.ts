// type=oci, checked by skopeo, umoci and oci-image-tool.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, readdir, writeFile, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportImage } from '../../exporter/index.ts';
import { imageFixture } from './_image.ts';

const run = promisify(execFile);

test('an OCI archive is read by skopeo, with BuildKit-style name annotations', async (t) => {
  const { dir, view, content, images } = await imageFixture(t);
  const dest = join(dir, 'out', 'app.tar');
  const result = await exportImage(view, { type: 'oci', dest, tar: true, names: ['app:1.0'] }, { content, images });
  t.is(result.digest, view.manifestDescriptor.digest);
  t.is(result.imageId, view.configDescriptor.digest);
  const info = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${dest}:1.0`])).stdout);
  t.is(info.Digest, view.manifestDescriptor.digest);
  t.is(info.Architecture, 'amd64');
  t.deepEqual(info.Layers, view.layers.map((l) => l.descriptor.digest));
  const config = JSON.parse((await run('skopeo', ['inspect', '--config', `oci-archive:${dest}:1.0`])).stdout);
  t.deepEqual(config.config.Cmd, ['/bin/hello']);
  // no temp files left beside dest
  t.deepEqual(await readdir(join(dir, 'out')), ['app.tar']);
});

test('an OCI layout directory passes oci-image-tool validation and unpacks with umoci', async (t) => {
  const { dir, view, content, images } = await imageFixture(t);
  const dest = join(dir, 'layout');
  await exportImage(view, { type: 'oci', dest, tar: false, names: ['docker.io/library/app:latest'] }, { content, images });
  const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8'));
  t.deepEqual(index.manifests[0].annotations, {
    'io.containerd.image.name': 'docker.io/library/app:latest',
    'org.opencontainers.image.ref.name': 'latest',
  });
  // this oci-image-tool (1.0.0-rc1) validates a layout as --type image, finding the manifest by ref name
  const validated = await run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=latest', dest]).catch((e) => e);
  t.falsy(validated instanceof Error, String(validated.stderr ?? ''));
  t.regex(String(validated.stdout), /validation succeeded/i);
  const manifestPath = join(dest, 'blobs', 'sha256', view.manifestDescriptor.digest.slice(7));
  await t.notThrowsAsync(run('oci-image-tool', ['validate', '--type', 'manifest', manifestPath]));
  await t.notThrowsAsync(run('oci-image-tool', ['validate', '--type', 'config', join(dest, 'blobs', 'sha256', view.configDescriptor.digest.slice(7))]));
  const bundle = join(dir, 'bundle');
  await run('umoci', ['unpack', '--image', `${dest}:latest`, bundle]);
  t.is(await readFile(join(bundle, 'rootfs', 'app', 'main.txt'), 'utf8'), 'main\n');
  t.is(await readFile(join(bundle, 'rootfs', 'etc', 'os-release'), 'utf8'), 'NAME=test\n');
  const runtime = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
  t.deepEqual(runtime.process.args, ['/bin/hello']);
  t.is(runtime.process.cwd, '/app');
});

test('exporting over an existing layout directory replaces it whole', async (t) => {
  const { dir, view, content, images } = await imageFixture(t);
  const dest = join(dir, 'layout');
  await mkdir(dest);
  await writeFile(join(dest, 'stale.txt'), 'old');
  await exportImage(view, { type: 'oci', dest, tar: false, names: [] }, { content, images });
  t.deepEqual((await readdir(dest)).sort(), ['blobs', 'index.json', 'oci-layout']);
});

test('a failing export leaves no dest behind and says where', async (t) => {
  const { dir, view, content, images } = await imageFixture(t);
  // a layer blob gone from the store
  await content.delete(view.layers[1].descriptor.digest);
  const dest = join(dir, 'out', 'app.tar');
  const e = await t.throwsAsync(exportImage(view, { type: 'oci', dest, tar: true, names: ['app'] }, { content, images }));
  t.is((e as { code?: string }).code, 'BLOB_NOT_FOUND');
  t.regex(e!.message, new RegExp(view.layers[1].descriptor.digest));
  t.deepEqual(await readdir(join(dir, 'out')), []);
  // an unwritable place is an OUTPUT_FAILED naming dest
  const locked = join(dir, 'locked');
  await mkdir(locked);
  await chmod(locked, 0o500);
  const blocked = join(locked, 'sub', 'x.tar');
  const e2 = await t.throwsAsync(exportImage(view, { type: 'oci', dest: blocked, tar: true, names: [] }, { content, images }));
  // root ignores the mode bits: then the export simply succeeds
  if (process.getuid?.() !== 0) {
    t.is((e2 as { code?: string }).code, 'OUTPUT_FAILED');
    t.true(e2!.message.includes(blocked));
  } else t.pass();
});
