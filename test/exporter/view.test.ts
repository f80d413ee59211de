// createImageView: empty layers dropped, history kept consistent, blobs stored.
import test from 'ava';
import { alignHistory } from '../../exporter/index.ts';
import { imageFixture } from './_image.ts';

test('empty layers are dropped and their history entries marked empty_layer', async (t) => {
  const { view, content } = await imageFixture(t);
  t.is(view.layers.length, 2);
  t.is(view.config.rootfs.diff_ids.length, 2);
  t.deepEqual(view.config.rootfs.diff_ids, view.layers.map((l) => l.diffId));
  t.deepEqual(
    view.config.history!.map((h) => [h.created_by, h.empty_layer ?? false]),
    [
      ['ADD base.tar /', false],
      ['WORKDIR /app', true],
      ['ENV PATH=/bin', true],
      ['COPY main.txt /app/', false],
    ],
  );
  t.is(view.config.created, '2024-05-01T00:00:00.000Z');
  t.is(view.manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.deepEqual(view.manifest.config, view.configDescriptor);
  t.deepEqual(JSON.parse((await content.readBytes(view.manifestDescriptor.digest)).toString()), view.manifest);
  t.deepEqual(JSON.parse((await content.readBytes(view.configDescriptor.digest)).toString()), view.config);
});

test('a history that does not match the layers is regenerated consistently', (t) => {
  const layers = [{ empty: false }, { empty: false }, { empty: true }];
  // too few entries: one generated for the missing kept layer
  const short = alignHistory([{ created_by: 'a' }], layers);
  t.is(short.filter((h) => !h.empty_layer).length, 2);
  // too many: the surplus is marked empty
  const long = alignHistory([{ created_by: 'a' }, { created_by: 'b' }, { created_by: 'c' }, { created_by: 'd' }], layers);
  t.is(long.filter((h) => !h.empty_layer).length, 2);
  t.deepEqual(long.map((h) => h.created_by), ['a', 'b', 'c', 'd']);
  t.is(alignHistory(undefined, layers).filter((h) => !h.empty_layer).length, 2);
});
