// worker.layer(id, { clampTimes }) (worker/layer/clamped-layer.ts): a snapshot's layer with its file
// times clamped, made once per (diff, epoch) and reused, every compression from the one clamped tar;
// the snapshot's own blobs (what the cache keeps) are not changed; an abort leaves nothing behind.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaTypes } from '../../src/image/index.ts';
import { run, withWorker } from './_setup.ts';

const epoch = 1_700_000_000;

/** name → mtime (seconds) of each entry of an uncompressed tar. */
async function mtimes(raw: Buffer): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      for await (const _ of e) void _;
      out.set(e.header.name, Math.floor(e.header.mtime!.getTime() / 1000));
    }
  })();
  ex.end(raw);
  await done;
  return out;
}

test('the clamped layer: later times set to the epoch, earlier kept; made once, reused per compression; the snapshot\'s own blob unchanged', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('mkdir -p /made/deep && echo hi > /made/deep/f && echo old > /old && TZ=UTC touch -d \'2001-01-01 00:00:00\' /old'), [{ type: 'snapshot', id: base }], w.ctx);
    const plain = await w.worker.layer(id, { compression: 'uncompressed', reuse: 'any' });
    const raw = await w.worker.layer(id, { compression: 'uncompressed', clampTimes: epoch });
    t.is(raw.mediaType, MediaTypes.ociLayer);
    t.is(raw.digest, raw.diffId, 'an uncompressed blob is its own diffId');
    t.not(raw.diffId, plain.diffId, 'another tar');
    const times = await mtimes(await w.content.readBytes(raw.digest));
    for (const name of ['made/', 'made/deep/', 'made/deep/f']) t.is(times.get(name), epoch, name);
    t.is(times.get('old'), Date.parse('2001-01-01T00:00:00Z') / 1000);
    const before = await mtimes(await w.content.readBytes(plain.digest));
    t.true(before.get('made/deep/f')! > epoch, 'the snapshot\'s own tar keeps the time the RUN wrote');

    const gz = await w.worker.layer(id, { compression: 'gzip', clampTimes: epoch });
    t.is(gz.mediaType, MediaTypes.ociLayerGzip);
    t.is(gz.diffId, raw.diffId, 'the gzip blob holds the clamped tar');
    t.deepEqual(gunzipSync(await w.content.readBytes(gz.digest)), await w.content.readBytes(raw.digest));
    // asked again: the stored blobs, not made again (a new blob would be a new file)
    const inode = statSync(w.content.path(raw.digest)).ino;
    t.deepEqual(await w.worker.layer(id, { compression: 'gzip', clampTimes: epoch }), gz);
    t.deepEqual(await w.worker.layer(id, { compression: 'uncompressed', clampTimes: epoch }), raw);
    t.is(statSync(w.content.path(raw.digest)).ino, inode);
    t.deepEqual(await w.worker.layer(id, { compression: 'uncompressed', reuse: 'any' }), plain, 'the snapshot\'s blob is still the unclamped one');
    // a stored image's layer found by its digest (a push): the clamped row answers
    t.deepEqual(await w.worker.layerOfBlob(raw.digest, { compression: 'gzip' }), gz);
    // another epoch is another layer
    const later = await w.worker.layer(id, { compression: 'uncompressed', clampTimes: 2_000_000_000 });
    t.is(later.diffId, plain.diffId, 'every time is before it: the same tar');
  }));

test('an aborted clamp stores no blob and leaves no ingest file', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('seq 1 300000 > /big && mkdir /d'), [{ type: 'snapshot', id: base }], w.ctx);
    await w.worker.layer(id, { compression: 'uncompressed', reuse: 'any' });
    const blobsBefore = readdirSync(join(w.content.dir, 'blobs', 'sha256')).sort();
    const stop = new AbortController();
    const made = w.worker.layer(id, { compression: 'uncompressed', clampTimes: epoch, signal: stop.signal });
    stop.abort(new Error('stopped'));
    await t.throwsAsync(made, { message: 'stopped' });
    t.deepEqual(readdirSync(join(w.content.dir, 'ingest')), [], 'no ingest file left');
    t.deepEqual(readdirSync(join(w.content.dir, 'blobs', 'sha256')).sort(), blobsBefore, 'no blob stored');
    // and the next ask makes it
    const raw = await w.worker.layer(id, { compression: 'uncompressed', clampTimes: epoch });
    t.is(readFileSync(w.content.path(raw.digest)).length, raw.size);
  }));
