// type=image: the local store, tagged under every name.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { exportImage, withConfig } from '../../exporter/index.ts';
import { openContentStore } from '../../src/content/index.ts';
import { createRegistryClient, pullImage } from '../../src/registry/index.ts';
import { startRegistry } from '../_support/registry.ts';
import { imageFixture } from './_image.ts';

test('the image is tagged under every name and resolvable by its familiar form', async (t) => {
  const { view, content, images } = await imageFixture(t);
  const result = await exportImage(view, { type: 'image', names: ['app', 'app:v2'], push: false }, { content, images });
  t.deepEqual(result.names, ['app', 'app:v2']);
  t.is(images.resolve('app:latest')?.digest, view.manifestDescriptor.digest);
  t.is(images.resolve('docker.io/library/app:v2')?.digest, view.manifestDescriptor.digest);
});

test('exporting the same image again leaves its tags and index.json as they were; a new name or another image is tagged (issue 9)', async (t) => {
  const { view, content, images } = await imageFixture(t);
  await exportImage(view, { type: 'image', names: ['app'], push: false }, { content, images });
  const index = join(content.dir, 'index.json');
  const before = { tags: images.list(), index: statSync(index).mtimeMs };
  await new Promise((r) => setTimeout(r, 20));
  await exportImage(view, { type: 'image', names: ['app'], push: false }, { content, images });
  t.deepEqual(images.list(), before.tags, 'the tag was not restamped');
  t.is(statSync(index).mtimeMs, before.index, 'index.json was not rewritten');

  await exportImage(view, { type: 'image', names: ['app', 'app:v2'], push: false }, { content, images });
  t.is(images.resolve('app:v2')?.digest, view.manifestDescriptor.digest);
  t.deepEqual(images.list().find((r) => r.fullName === before.tags[0].fullName), before.tags[0], 'the unchanged tag stays as it was');
  const other = await withConfig(view, { ...view.config, config: { Env: ['X=1'] } }, content);
  await exportImage(other, { type: 'image', names: ['app'], push: false }, { content, images });
  t.is(images.resolve('app')?.digest, other.manifestDescriptor.digest);
});

test('a bad name fails before anything is tagged', async (t) => {
  const { view, content, images } = await imageFixture(t);
  const e = await t.throwsAsync(exportImage(view, { type: 'image', names: ['good', 'Bad Name'], push: false }, { content, images }));
  t.is((e as { code?: string }).code, 'REFERENCE_INVALID');
  t.deepEqual(images.list(), []);
});

test('push without a registry client says so', async (t) => {
  const { view, content, images } = await imageFixture(t);
  const e = await t.throwsAsync(exportImage(view, { type: 'image', names: ['127.0.0.1:1/app'], push: true }, { content, images }));
  t.is((e as { code?: string }).code, 'OUTPUT_FAILED');
});

test('type=image,push=true tags locally and pushes every name to the registry', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const { view, content, images } = await imageFixture(t);
  const registry = createRegistryClient();
  const names = [`${reg.host}/app:1`, `${reg.host}/app:latest`];
  await exportImage(view, { type: 'image', names, push: true }, { content, images, registry });
  t.is(images.resolve(names[0])?.digest, view.manifestDescriptor.digest);
  const other = openContentStore(await mkdtemp(join(tmpdir(), 'tsbuild-pushed-')));
  t.teardown(() => rm(other.dir, { recursive: true, force: true }));
  for (const name of names) t.is((await pullImage({ client: registry, content: other, ref: name })).digest, view.manifestDescriptor.digest);
});
