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

test('every blob is looked for at once: small blobs do not wait for the transfer queue (issue 10: push under 0.2 s)', async (t) => {
  const reg = await startRegistry({ accessLog: true });
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-push-'));
  t.teardown(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const content = openContentStore(join(dir, 'content'));
  const layers = await Promise.all([1, 2, 3, 4, 5].map((i) => gzipLayer({ [`f${i}.txt`]: String(i).repeat(1000 * i) })));
  for (const l of layers) await content.putBytes(l.gz);
  const view = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
    layers: layers.map((l) => ({ diffId: l.diffId, digest: l.digest, size: l.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false })),
    content,
  });
  // one transfer at a time: the old way pushed blob after blob, HEAD, POST, PUT each
  await pushImage({ client: createRegistryClient({ concurrency: 1 }), content, ref: `${reg.host}/team/app:1`, descriptor: view.manifestDescriptor });
  const requests = reg.accessLog().map((l) => /"(HEAD|POST|PUT|GET) ([^ ]+)/.exec(l)).filter((m) => m !== null && m[2].startsWith('/v2/team/')).map((m) => `${m![1]} ${m![2].includes('/manifests/') ? 'manifest' : 'blob'}`);
  t.is(requests.filter((r) => r === 'HEAD blob').length, 6, 'config and five layers');
  t.is(requests.filter((r) => r === 'PUT blob').length, 6);
  t.is(requests.at(-1), 'PUT manifest', 'the manifest last');
  const headsBeforeFirstPut = requests.slice(0, requests.indexOf('PUT blob')).filter((r) => r === 'HEAD blob').length;
  t.true(headsBeforeFirstPut >= 4, `HEADs answered before the first blob was stored: ${headsBeforeFirstPut} (${requests.join(', ')})`);
});
