// Images with as many layers as Docker allows (127) unpack and run, on both snapshotters. Their
// snapshots are named by 64-hex chainIDs, the longest names: stacked as overlay lowerdirs they pass
// the kernel's one-page mount option limit (issue 7 item 8: "snapshot chain too deep" at 107).
import test from 'ava';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { MediaTypes, type ImageConfig, type ImageManifest } from '../../src/image/index.ts';
import type { ImageSource } from '../../src/llb/index.ts';
import { busyboxPath } from '../_support/busybox-rootfs.ts';
import { readFileSync } from 'node:fs';
import { layerEntries, run, withWorker, type TestWorker } from './_setup.ts';

async function tarOf(entries: { name: string; data?: Buffer | string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; mode?: number }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), mtime: new Date(0) }, e.data ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function storeImage(w: TestWorker, layers: Buffer[]): Promise<ImageSource> {
  const descs = [];
  for (const l of layers) descs.push({ mediaType: MediaTypes.ociLayerGzip, ...(await w.content.putBytes(gzipSync(l))) });
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${createHash('sha256').update(l).digest('hex')}`) } };
  const cfg = await w.content.putBytes(JSON.stringify(config));
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, ...cfg }, layers: descs };
  const m = await w.content.putBytes(JSON.stringify(manifest));
  return { kind: 'source', source: 'image', ref: 'test/deep:127', digest: m.digest, platform: { os: 'linux', architecture: 'amd64' } };
}

for (const snapshotter of ['overlay', 'copy'] as const) {
  test(`${snapshotter}: FROM an image with 127 layers, a RUN sees every layer and its deletions`, (t) =>
    withWorker(async (w) => {
      const layers = [await tarOf([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/busybox', data: readFileSync(busyboxPath), mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'l/', type: 'directory' },
      ])];
      // each later layer adds a file; every tenth also deletes the one before it
      for (let i = 1; i < 127; i++) layers.push(await tarOf([{ name: 'l/', type: 'directory' }, { name: `l/${i}`, data: String(i) }, ...(i % 10 === 0 ? [{ name: `l/.wh.${i - 1}` }] : [])]));
      const top = await w.worker.run(await storeImage(w, layers), [], w.ctx);
      t.is(w.worker.chain(top!).length, 127);
      const id = await w.worker.run(run('/bin/busybox ls /l | /bin/busybox wc -l > /count && /bin/busybox cat /l/126 /l/10 > /last', { env: [] }), [{ type: 'snapshot', id: top }], w.ctx);
      const entries = await layerEntries(w, id);
      t.is(entries.find((e) => e.name === 'count')?.data?.trim(), String(126 - 12));
      t.is(entries.find((e) => e.name === 'last')?.data, '12610');
    }, { snapshotter }));
}

test('more layers than overlayfs can stack is a clear error, not the kernel\'s "wrong fs type"', async (t) => {
  const { mountAt } = await import('../../worker/snapshot/mount.ts');
  const lowers = Array.from({ length: 501 }, (_, i) => `/nonexistent/l${i}`).join(':');
  const e = await t.throwsAsync(mountAt({ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers}`, 'upperdir=/nonexistent/u', 'workdir=/nonexistent/w'] }, '/nonexistent/target'));
  t.is(e?.message, 'snapshot chain too deep to mount: 501 layers, and overlayfs stacks at most 500');
});
