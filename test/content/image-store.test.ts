// The local image store: tags in SQLite, mirrored into index.json so skopeo reads the store.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openContentStore, openImageStore, readImage } from '../../src/content/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import { createImageView } from '../../exporter/index.ts';
import { gzipLayer } from '../_support/registry.ts';

const run = promisify(execFile);

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-images-'));
  const content = openContentStore(join(root, 'content'));
  const db = openDatabase(join(root, 'metadata.db'));
  t.teardown(async () => {
    db.close();
    await rm(root, { recursive: true, force: true });
  });
  const layer = await gzipLayer({ 'hello.txt': 'hello\n' });
  await content.putBytes(layer.gz);
  const view = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello'] }, rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'COPY hello.txt /' }] },
    layers: [{ diffId: layer.diffId, digest: layer.digest, size: layer.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false }],
    content,
  });
  return { root, content, db, images: openImageStore({ content, db }), view };
}

test('tag, resolve and list use Docker-normalised names', async (t) => {
  const { images, view } = await setup(t);
  images.tag('app', view.manifestDescriptor);
  images.tag('registry.local:5000/team/app:v1', view.manifestDescriptor);
  t.is(images.resolve('app:latest')?.digest, view.manifestDescriptor.digest);
  t.is(images.resolve('docker.io/library/app')?.digest, view.manifestDescriptor.digest);
  t.is(images.resolve('app:other'), undefined);
  t.is(images.resolve(`app@${view.manifestDescriptor.digest}`)?.digest, view.manifestDescriptor.digest);
  t.deepEqual(
    images.list().map((i) => [i.name, i.digest]),
    [
      ['app:latest', view.manifestDescriptor.digest],
      ['registry.local:5000/team/app:v1', view.manifestDescriptor.digest],
    ],
  );
});

test('retagging moves the name; untag removes it from the table and index.json', async (t) => {
  const { images, view, content, root } = await setup(t);
  images.tag('app', { mediaType: view.manifestDescriptor.mediaType, digest: view.configDescriptor.digest, size: 1 });
  images.tag('app', view.manifestDescriptor);
  t.is(images.list().length, 1);
  t.is(images.resolve('app')?.digest, view.manifestDescriptor.digest);
  t.true(images.untag('app'));
  t.false(images.untag('app'));
  t.deepEqual(images.list(), []);
  const index = JSON.parse(await readFile(join(content.dir, 'index.json'), 'utf8'));
  t.deepEqual(index.manifests, []);
  t.truthy(root);
});

test('the store is an OCI layout skopeo can read by tag', async (t) => {
  const { images, view, content } = await setup(t);
  images.tag('app', view.manifestDescriptor);
  images.tag('other/thing:1.0', view.manifestDescriptor);
  const { stdout } = await run('skopeo', ['inspect', `oci:${content.dir}:app:latest`]);
  const info = JSON.parse(stdout);
  t.is(info.Digest, view.manifestDescriptor.digest);
  t.deepEqual(info.Layers, [view.layers[0].descriptor.digest]);
  const other = JSON.parse((await run('skopeo', ['inspect', `oci:${content.dir}:other/thing:1.0`])).stdout);
  t.is(other.Digest, view.manifestDescriptor.digest);
});

test('two store handles (as two processes would) never lose each other\'s tags', async (t) => {
  const { view, content, root } = await setup(t);
  const db1 = openDatabase(join(root, 'metadata.db'));
  const db2 = openDatabase(join(root, 'metadata.db'));
  t.teardown(() => {
    db1.close();
    db2.close();
  });
  const a = openImageStore({ content, db: db1 });
  const b = openImageStore({ content, db: db2 });
  for (let i = 0; i < 20; i++) (i % 2 ? a : b).tag(`app:${i}`, view.manifestDescriptor);
  const index = JSON.parse(await readFile(join(content.dir, 'index.json'), 'utf8'));
  t.is(index.manifests.length, 20);
  t.is(a.list().length, 20);
});

test('readImage returns manifest and config; a bad tag name is REFERENCE_INVALID', async (t) => {
  const { images, view, content } = await setup(t);
  const { manifest, config } = await readImage(content, view.manifestDescriptor.digest);
  t.deepEqual(manifest, view.manifest);
  t.deepEqual(config.config.Cmd, ['/hello']);
  const e = t.throws(() => images.tag('App:1', view.manifestDescriptor));
  t.is((e as { code?: string }).code, 'REFERENCE_INVALID');
  t.regex(e!.message, /lowercase/);
});
