// compressImage: a stored image (uncompressed layers) gets the blobs a push sends, made once from
// the stored blobs (even after GC removed the snapshots) and reused; the image id stays.
import test from 'ava';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { compressImage } from '../../control/compress-image.ts';
import { createImageView, readImageView } from '../../exporter/index.ts';
import { MediaTypes } from '../../src/image/index.ts';
import { run, withWorker } from '../worker/_setup.ts';

test('a stored image\'s layers are compressed once, from their stored blobs, with the same config', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('echo hi > /f'), [{ type: 'snapshot', id: base }], w.ctx);
    const chain = w.worker.chain(id);
    const layers = [];
    for (const s of chain) layers.push(await w.worker.layer(s, { compression: 'uncompressed', reuse: 'any' }));
    const built = await createImageView({ config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }, layers, content: w.content });
    for (const l of built.layers) t.is(l.descriptor.mediaType, MediaTypes.ociLayer);
    const stored = await readImageView(w.content, built.manifestDescriptor.digest);
    t.deepEqual(stored.layers, built.layers);

    // GC removed the snapshots: their blob rows and blobs are enough
    for (const s of [...chain].reverse()) {
      w.db.prepare('DELETE FROM snapshots WHERE id = ?').run(s);
      rmSync(join(w.root, 'snapshots', s), { recursive: true, force: true });
    }
    const gz = await compressImage(w.worker, w.content, stored, { compression: 'gzip', force: false });
    t.is(gz.configDescriptor.digest, built.configDescriptor.digest, 'the image id does not change');
    t.not(gz.manifestDescriptor.digest, built.manifestDescriptor.digest);
    for (const [i, l] of gz.layers.entries()) {
      t.is(l.descriptor.mediaType, MediaTypes.ociLayerGzip);
      const blob = readFileSync(w.content.path(l.descriptor.digest));
      t.is(`sha256:${createHash('sha256').update(gunzipSync(blob)).digest('hex')}`, built.layers[i].diffId);
    }
    const before = gz.layers.map((l) => statSync(w.content.path(l.descriptor.digest)).ino);
    const again = await compressImage(w.worker, w.content, stored, { compression: 'gzip', force: false });
    t.deepEqual(again.manifest, gz.manifest, 'the second push reuses the blobs');
    t.deepEqual(again.layers.map((l) => statSync(w.content.path(l.descriptor.digest)).ino), before, 'nothing written again');
    const same = await compressImage(w.worker, w.content, stored, { compression: 'uncompressed', force: false });
    t.is(same, stored, 'uncompressed: the view as stored');
  }));
