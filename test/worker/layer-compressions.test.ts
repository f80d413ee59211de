// Layer blobs per compression (worker/layer/layer-blob.ts, snapshot-metadata.ts): a snapshot keeps
// its gzip and its zstd blob side by side, both with one diffId, both reused; they outlive the
// snapshot, and a removed snapshot is unpacked again from whichever is still stored.
import test from 'ava';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isTsbuildError } from '../../src/errors/index.ts';
import { MediaTypes } from '../../src/image/index.ts';
import { run, withWorker, type TestWorker } from './_setup.ts';

/** What GC does to a snapshot: its dir and row go, its blob rows and blobs stay. */
function removeSnapshot(w: TestWorker, id: string): void {
  w.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
  rmSync(join(w.root, 'snapshots', id), { recursive: true, force: true });
}

test('gzip and zstd layers of one snapshot are both kept and reused, with one diffId', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('echo hi > /f && mkdir /d'), [{ type: 'snapshot', id: base }], w.ctx);
    const gz = await w.worker.layer(id);
    const zs = await w.worker.layer(id, { compression: 'zstd' });
    t.is(gz.mediaType, MediaTypes.ociLayerGzip);
    t.is(zs.mediaType, MediaTypes.ociLayerZstd);
    t.is(zs.diffId, gz.diffId, 'the zstd blob holds the same tar');
    t.not(zs.digest, gz.digest);
    t.is(readFileSync(w.content.path(zs.digest)).readUInt32LE(0), 0xfd2fb528, 'zstd magic');
    // asked again, each is the one stored: the first is not replaced by the second
    t.deepEqual(await w.worker.layer(id), gz);
    t.deepEqual(await w.worker.layer(id, { compression: 'zstd' }), zs);
    t.is(w.worker.storedLayers(id), undefined, 'the base layer has no blob yet');
    await w.worker.layer(base);
    const top = w.worker.storedLayers(id)?.at(-1);
    t.deepEqual(top?.blobs.map((b) => b.digest).sort(), [gz.digest, zs.digest].sort());
    t.is(top?.diffId, gz.diffId);
  }));

test('a removed snapshot chain is unpacked again from its stored blobs, zstd alone if that is what is left', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('echo hi > /f'), [{ type: 'snapshot', id: base }], w.ctx);
    const chain = w.worker.chain(id);
    for (const s of chain) await w.worker.layer(s);
    const zs = await w.worker.layer(id, { compression: 'zstd' });
    const gz = await w.worker.layer(id);
    const records = w.worker.storedLayers(id)!;
    t.is(records.length, chain.length);
    for (const s of [...chain].reverse()) removeSnapshot(w, s);
    t.false(w.worker.exists(id));
    t.deepEqual(w.worker.storedLayers(id), records, 'blob rows outlive their snapshots, parents included');

    rmSync(w.content.path(gz.digest));
    const top = await w.worker.unpackLayers(w.worker.storedLayers(id)!, w.ctx);
    t.truthy(top);
    t.is(readFileSync(join(w.root, 'snapshots', top!, 'fs', 'f'), 'utf8'), 'hi\n');
    t.is(w.worker.chain(top!).length, chain.length);
    // the unpacked snapshot's layer is the blob it came from, and a new gzip one is made from it
    t.deepEqual(await w.worker.layer(top!, { compression: 'zstd' }), { ...zs, empty: false });
    t.is((await w.worker.layer(top!)).diffId, zs.diffId);
    // and it runs steps like any other
    const next = await w.worker.run(run('cat /f > /g'), [{ type: 'snapshot', id: top }], w.ctx);
    t.is(readFileSync(join(w.root, 'snapshots', next, 'fs', 'g'), 'utf8'), 'hi\n');
  }));

test('unpacking a layer none of whose blobs is stored says which blobs it looked for', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const gz = await w.worker.layer(base);
    const records = w.worker.storedLayers(base)!;
    removeSnapshot(w, base);
    rmSync(w.content.path(gz.digest));
    t.is(w.worker.storedLayers(base), undefined);
    const err = await t.throwsAsync(w.worker.unpackLayers(records, w.ctx));
    t.true(isTsbuildError(err) && err.code === 'BLOB_NOT_FOUND', String(err));
    t.true(err!.message.includes(gz.digest), err!.message);
  }));

test('an uncompressed blob is its own diffId; a level is its own blob; `any` and `compressed` reuse what is stored', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('echo hi > /f'), [{ type: 'snapshot', id: base }], w.ctx);
    const raw = await w.worker.layer(id, { compression: 'uncompressed', reuse: 'any' });
    t.is(raw.mediaType, MediaTypes.ociLayer);
    t.is(raw.digest, raw.diffId);
    t.deepEqual(await w.worker.layer(id, { compression: 'gzip', reuse: 'any' }), raw, 'any: the stored blob, nothing compressed');
    const gz = await w.worker.layer(id, { compression: 'gzip', reuse: 'compressed' });
    t.is(gz.mediaType, MediaTypes.ociLayerGzip, 'compressed: a diff with an uncompressed blob is compressed as asked');
    t.is(gz.diffId, raw.diffId);
    const gz1 = await w.worker.layer(id, { compression: 'gzip', level: 1 });
    t.not(gz1.digest, gz.digest, 'level 1 is another blob');
    t.is(gz1.diffId, raw.diffId);
    t.deepEqual(await w.worker.layer(id, { compression: 'gzip', level: 4 }), gz, 'the default level is the plain gzip row');
    t.deepEqual(await w.worker.layer(id, { compression: 'gzip', level: 1 }), gz1, 'remembered per level');

    // a diff whose only blob is compressed (a pulled layer's) keeps it under `compressed`, not under `exact`
    const other = await w.worker.run(run('echo ho > /g'), [{ type: 'snapshot', id: base }], w.ctx);
    const pulled = await w.worker.layer(other, { compression: 'gzip' });
    t.deepEqual(await w.worker.layer(other, { compression: 'zstd', reuse: 'compressed' }), pulled);
    t.deepEqual(await w.worker.layer(other, { compression: 'uncompressed', reuse: 'any' }), pulled);
    const zs = await w.worker.layer(other, { compression: 'zstd' });
    t.is(zs.mediaType, MediaTypes.ociLayerZstd);
    t.is(zs.diffId, pulled.diffId);
  }));

test('keepUncompressed: one walk of the snapshot stores the gzip blob and the uncompressed tar, both recorded, the same bytes as each alone', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const step = run('head -c 3000000 /dev/urandom > /r && seq 1 200000 > /t && echo hi > /f');
    const id = await w.worker.run(step, [{ type: 'snapshot', id: base }], w.ctx);
    const gz = await w.worker.layer(id, { compression: 'gzip', reuse: 'compressed', keepUncompressed: true });
    t.is(gz.mediaType, MediaTypes.ociLayerGzip);
    const row = w.db.prepare("SELECT digest FROM snapshot_blobs WHERE snapshot = ? AND compression = 'uncompressed'").get(id) as { digest: string } | undefined;
    t.is(row?.digest, gz.diffId, 'the uncompressed blob was recorded in the same pass');
    // asked for exactly, it is the one stored
    const raw = await w.worker.layer(id, { compression: 'uncompressed', reuse: 'exact' });
    t.is(raw.digest, gz.diffId, 'the uncompressed blob is the diffId');
    t.is(raw.mediaType, MediaTypes.ociLayer);
    t.deepEqual(gunzipSync(readFileSync(w.content.path(gz.digest))), readFileSync(w.content.path(raw.digest)), 'the gzip holds that very tar');
    t.deepEqual(readdirSync(join(w.root, 'content', 'ingest')), [], 'no ingest file left');
    // the same snapshot tarred and compressed the usual way (from the stored tar) gives the same blob
    w.db.prepare("DELETE FROM snapshot_blobs WHERE snapshot = ? AND compression = 'gzip'").run(id);
    rmSync(w.content.path(gz.digest));
    t.deepEqual(await w.worker.layer(id, { compression: 'gzip' }), gz);
  }));

test('keepUncompressed: a failing store removes both ingest files and records neither blob', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('seq 1 300000 > /t'), [{ type: 'snapshot', id: base }], w.ctx);
    const controller = new AbortController();
    const pending = w.worker.layer(id, { compression: 'gzip', keepUncompressed: true, signal: controller.signal });
    controller.abort(new Error('stopped by the test'));
    await t.throwsAsync(pending, { message: 'stopped by the test' });
    t.deepEqual(readdirSync(join(w.root, 'content', 'ingest')), [], 'no ingest file left');
    t.is((w.db.prepare('SELECT count(*) AS n FROM snapshot_blobs WHERE snapshot = ?').get(id) as { n: number }).n, 0, 'neither blob recorded');
    const again = await w.worker.layer(id, { compression: 'gzip', keepUncompressed: true });
    t.is((await w.worker.layer(id, { compression: 'uncompressed', reuse: 'exact' })).digest, again.diffId);
  }));
