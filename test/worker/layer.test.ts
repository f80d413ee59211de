import test from 'ava';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import tar from 'tar-stream';
import { isTsbuildError } from '../../src/errors/index.ts';
import { MediaTypes, type ImageConfig, type ImageManifest } from '../../src/image/index.ts';
import type { ImageSource } from '../../src/llb/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import { createSnapshotStore } from '../../worker/snapshot/snapshot-store.ts';
import { layerEntries, run, withWorker, type TestWorker } from './_setup.ts';


type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; data?: string; linkname?: string };

function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644, mtime: new Date(0) }, e.data ?? '');
  pack.finalize();
  return (async () => {
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
}

/** Stores an image made of `layers` (uncompressed tars) and returns the op that names it. */
async function storeImage(w: TestWorker, layers: Buffer[], diffIds?: string[]): Promise<ImageSource> {
  const descs = [];
  for (const l of layers) descs.push({ mediaType: MediaTypes.ociLayerGzip, ...(await w.content.putBytes(gzipSync(l))) });
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds ?? layers.map((l) => `sha256:${createHash('sha256').update(l).digest('hex')}`) } };
  const cfg = await w.content.putBytes(JSON.stringify(config));
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, ...cfg }, layers: descs };
  const m = await w.content.putBytes(JSON.stringify(manifest));
  return { kind: 'source', source: 'image', ref: 'test/image:1', digest: m.digest, platform: { os: 'linux', architecture: 'amd64' } };
}

test('layer bytes are deterministic and computed once', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const a = await w.worker.layer(base);
    const b = await w.worker.layer(base);
    t.deepEqual(a, b);
    t.is(a.mediaType, MediaTypes.ociLayerGzip);
    // recomputed from scratch (uncompressed): same diffId as the gzip blob's
    const plain = await w.worker.layer(base, { compression: 'uncompressed' });
    t.is(plain.diffId, a.diffId);
    t.is(plain.digest, a.diffId);
    const again = await w.worker.layer(base, { compression: 'uncompressed' });
    t.is(again.digest, plain.digest);
  }));

test('an op that changes nothing gives an empty layer', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('true'), [{ type: 'snapshot', id: base }], w.ctx);
    t.true((await w.worker.layer(id)).empty);
  }));

test('unpack: whiteouts and opaque dirs become overlay form, ids follow the chainID, blobs are reused', (t) =>
  withWorker(async (w) => {
    const l1 = await tarOf([{ name: 'a/', type: 'directory' }, { name: 'a/x', data: 'x' }, { name: 'b', data: 'b' }, { name: 'd/', type: 'directory' }, { name: 'd/old', data: 'o' }, { name: 'h', type: 'link', linkname: 'b' }]);
    const l2 = await tarOf([{ name: '.wh.b', data: '' }, { name: 'd/', type: 'directory' }, { name: 'd/.wh..wh..opq', data: '' }, { name: 'd/new', data: 'n' }]);
    const op = await storeImage(w, [l1, l2]);
    const top = await w.worker.run(op, [], w.ctx);
    t.truthy(top);
    const chain = w.worker.chain(top!);
    t.is(chain.length, 2);
    t.is(chain[0], createHash('sha256').update(l1).digest('hex'));
    const fs2 = join(w.root, 'snapshots', top!, 'fs');
    t.true(lstatSync(join(fs2, 'b')).isCharacterDevice());
    t.regex(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', join(fs2, 'd')], { encoding: 'utf8' }), /y/);
    t.is(lstatSync(join(w.root, 'snapshots', chain[0], 'fs', 'h')).ino, lstatSync(join(w.root, 'snapshots', chain[0], 'fs', 'b')).ino);
    // the layer of an unpacked snapshot is the image's own blob
    const info = await w.worker.layer(top!);
    const manifest = JSON.parse(readFileSync(w.content.path(op.digest), 'utf8')) as ImageManifest;
    t.is(info.digest, manifest.layers[1].digest);
    // and the round trip of the whiteouts through a fresh tar
    const names = (await layerEntries(w, top!)).map((e) => e.name);
    t.true(names.includes('.wh.b') && names.includes('d/.wh..wh..opq'));
    // unpacking again reuses the snapshots
    t.is(await w.worker.run(op, [], w.ctx), top);
  }));

for (const [title, entries, named] of [
  ['a .. escape', [{ name: '../evil', data: 'x' }], '../evil'],
  ['an absolute path', [{ name: '/etc/evil', data: 'x' }], '/etc/evil'],
  ['a write through a symlink', [{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: 'link/evil', data: 'x' }], 'link/evil'],
  ['a hard link out of the root', [{ name: 'h', type: 'link', linkname: '../../../etc/passwd' }], 'h'],
  // S7: these whiteouts would hide the parent dir itself, or the one above it
  ['the whiteout ".wh.."', [{ name: '.wh..', data: '' }], '.wh..'],
  ['the whiteout ".wh..."', [{ name: 'a/', type: 'directory' }, { name: 'a/.wh...', data: '' }], 'a/.wh...'],
  ['the empty whiteout ".wh."', [{ name: 'a/', type: 'directory' }, { name: 'a/.wh.', data: '' }], 'a/.wh.'],
] as [string, Entry[], string][]) {
  test(`unpack refuses ${title}`, (t) =>
    withWorker(async (w) => {
      const op = await storeImage(w, [await tarOf(entries)]);
      const err = await t.throwsAsync(w.worker.run(op, [], w.ctx));
      t.true(isTsbuildError(err) && err.code === 'TAR_UNSAFE', String(err));
      t.true(err!.message.includes(`"${named}"`), err!.message);
      t.false(existsSync('/tmp/evil'));
    }));
}

test('S2: a config diff_id that is not sha256:<64 hex> is refused before it names any path', (t) =>
  withWorker(async (w) => {
    const escaped = `tsbuild-s2-${process.pid}-${Date.now()}`;
    try {
      const op = await storeImage(w, [await tarOf([{ name: 'evil', data: 'x' }])], [`sha256:/../../../${escaped}/evil`]);
      const err = await t.throwsAsync(w.worker.run(op, [], w.ctx));
      t.true(isTsbuildError(err) && err.code === 'IMAGE_INVALID', String(err));
      t.regex(err!.message, /^image test\/image:1: .*diff_id.*not a sha256 digest/);
      t.false(existsSync(join(tmpdir(), escaped)), 'nothing was made outside the state root');
    } finally {
      rmSync(join(tmpdir(), escaped), { recursive: true, force: true });
    }
  }));

test('S2: a manifest layer digest that is not sha256:<64 hex> is refused, naming the image', (t) =>
  withWorker(async (w) => {
    const good = await storeImage(w, [await tarOf([{ name: 'f', data: 'x' }])]);
    const manifest = JSON.parse(readFileSync(w.content.path(good.digest), 'utf8')) as ImageManifest;
    manifest.layers[0].digest = 'sha256:../../x';
    const m = await w.content.putBytes(JSON.stringify(manifest));
    const err = await t.throwsAsync(w.worker.run({ ...good, digest: m.digest }, [], w.ctx));
    t.true(isTsbuildError(err) && err.code === 'IMAGE_INVALID', String(err));
    t.regex(err!.message, /^image test\/image:1: manifest sha256:[0-9a-f]{64}: "layers\[0\]\.digest" "sha256:\.\.\/\.\.\/x" is not a sha256 digest/);
  }));

test('R7: unpacks of the same layer racing each other all succeed with one snapshot', (t) =>
  withWorker(async (w) => {
    const op = await storeImage(w, [await tarOf([{ name: 'f', data: 'x' }])]);
    const tops = await Promise.all(Array.from({ length: 8 }, () => w.worker.run(op, [], w.ctx)));
    t.is(new Set(tops).size, 1);
    t.is(readFileSync(join(w.root, 'snapshots', tops[0]!, 'fs', 'f'), 'utf8'), 'x');
    t.deepEqual(readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('unpack-')), [], 'no temp dir is left');
  }));

test('R7: losing the rename to another process that committed the same layer is success', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-r7-'));
  const db = openDatabase(join(dir, 'metadata.db'));
  try {
    const store = createSnapshotStore({ snapshotsDir: join(dir, 'snapshots'), db });
    for (const d of ['mine/fs', 'snapshots/theirs/fs']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'snapshots/theirs/fs/f'), 'x');
    await store.importDir('theirs', undefined, join(dir, 'mine'));
    t.is(readFileSync(join(store.diffDir('theirs'), 'f'), 'utf8'), 'x');
    t.true(store.exists('theirs'));
    await t.throwsAsync(store.importDir('other', undefined, join(dir, 'missing')), { code: 'ENOENT' });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
