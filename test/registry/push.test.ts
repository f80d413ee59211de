// pushImage to a real docker-registry, checked with skopeo and by pulling it back.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openContentStore } from '../../src/content/index.ts';
import { createRegistryClient, pullImage, pushImage } from '../../src/registry/index.ts';
import { createImageView } from '../../exporter/index.ts';
import { gzipLayer, startRegistry } from '../_support/registry.ts';

const run = promisify(execFile);

test('an image built into the store is pushed, inspected by skopeo and pulled back', async (t) => {
  const reg = await startRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-push-'));
  t.teardown(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const content = openContentStore(join(dir, 'content'));
  const layers = [await gzipLayer({ 'a.txt': 'a' }), await gzipLayer({ 'b.txt': 'b'.repeat(100_000) })];
  for (const l of layers) await content.putBytes(l.gz);
  const view = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/a'] }, rootfs: { type: 'layers', diff_ids: [] } },
    layers: layers.map((l) => ({ diffId: l.diffId, digest: l.digest, size: l.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false })),
    content,
  });
  const client = createRegistryClient();
  const pushed = await pushImage({ client, content, ref: `${reg.host}/team/app:1`, descriptor: view.manifestDescriptor });
  t.is(pushed.digest, view.manifestDescriptor.digest);
  const info = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/app:1`])).stdout);
  t.is(info.Digest, view.manifestDescriptor.digest);
  t.deepEqual(info.Layers, layers.map((l) => l.digest));

  // again, and to a sibling repository by mount: nothing to upload, same digest
  await pushImage({ client, content, ref: `${reg.host}/team/app:1`, descriptor: view.manifestDescriptor });
  await pushImage({ client, content, ref: `${reg.host}/team/copy:1`, descriptor: view.manifestDescriptor, mountFrom: ['team/app'] });

  const other = openContentStore(join(dir, 'other'));
  const pulled = await pullImage({ client, content: other, ref: `${reg.host}/team/copy:1` });
  t.is(pulled.digest, view.manifestDescriptor.digest);
  t.deepEqual(pulled.config.config.Cmd, ['/a']);
});
