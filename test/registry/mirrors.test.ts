// registry-mirrors: Docker Hub images are read from a mirror first, as Docker does, and a mirror
// that fails (down, or without the image) gives way to the next; the keys come from tsbuild.toml.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createRegistryClient, pullImage } from '../../src/registry/index.ts';
import { makeOciLayout, pushToRegistry, startRegistry } from '../_support/registry.ts';

test('a docker.io image is pulled from the first mirror that has it, never from Docker Hub', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-mirror-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [empty, mirror] = [await startRegistry(), await startRegistry()];
  t.teardown(async () => {
    await empty.stop();
    await mirror.stop();
  });
  const layout = await makeOciLayout(join(dir, 'layout'), { layers: [{ 'm.txt': 'from the mirror' }] });
  // what Docker Hub calls `tsbuildmirrortest` lives at library/tsbuildmirrortest
  await pushToRegistry(`oci:${layout.dir}:latest`, `${mirror.host}/library/tsbuildmirrortest:1`);
  const down = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const client = createRegistryClient({ mirrors: [`http://127.0.0.1:${down}`, `http://${empty.host}`, `http://${mirror.host}`] });
  const pulled = await pullImage({ client, content: openContentStore(join(dir, 'content')), ref: 'tsbuildmirrortest:1' });
  t.is(pulled.ref, 'docker.io/library/tsbuildmirrortest:1');
  t.is(pulled.digest, layout.digest);

  // other registries are never mirrored
  const e = await t.throwsAsync(pullImage({ client, content: openContentStore(join(dir, 'c2')), ref: `127.0.0.1:${down}/library/tsbuildmirrortest:1` }));
  t.regex(e!.message, new RegExp(`cannot reach registry 127\\.0\\.0\\.1:${down}`));
});

test('registry-mirrors and insecure-registries are read from tsbuild.toml, and checked', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-mirror-config-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'tsbuild.toml'), 'registry-mirrors = ["https://mirror.example.com"]\ninsecure-registries = ["reg.lan:5000"]\n[gc]\nenabled = false\n');
  const config = await loadConfig(root, {});
  t.deepEqual(config.registryMirrors, ['https://mirror.example.com']);
  t.deepEqual(config.insecureRegistries, ['reg.lan:5000']);
  t.deepEqual(config.gc, { enabled: false });
  await writeFile(join(root, 'tsbuild.toml'), 'registry-mirrors = ["mirror.example.com/v2"]\n');
  const e = await t.throwsAsync(loadConfig(root, {}));
  t.like(e, { code: 'CONFIG_INVALID' });
  t.regex(e!.message, /registry-mirrors: "mirror\.example\.com\/v2" is not a registry URL/);
});
