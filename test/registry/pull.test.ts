// pullImage against a real docker-registry on 127.0.0.1, fed by skopeo.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { openContentStore } from '../../src/content/index.ts';
import { createRegistryClient, pullImage } from '../../src/registry/index.ts';
import type { ProgressEvent } from '../../src/progress/index.ts';
import { makeOciLayout, pushToRegistry, startRegistry } from '../_support/registry.ts';
import type { TestRegistry } from '../_support/registry.ts';

let reg: TestRegistry;
let work: string;

test.before(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tsbuild-pull-'));
});
test.after.always(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const freshStore = async () => openContentStore(await mkdtemp(join(work, 'content-')));

test('pulls a single-platform image: manifest, config and layers land in the store', async (t) => {
  const layout = await makeOciLayout(join(work, 'single'), { layers: [{ 'a.txt': 'a' }, { 'b/c.txt': 'c' }], cmd: ['/a'] });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/single:1`);
  const content = await freshStore();
  const events: ProgressEvent[] = [];
  const vertex = { digest: 'sha256:v', name: 'pull' };
  const pulled = await pullImage({
    client: createRegistryClient(),
    content,
    ref: `${reg.host}/single:1`,
    progress: { emit: (e) => events.push({ ...e, time: Date.now() } as ProgressEvent) },
    vertex,
  });
  t.is(pulled.ref, `${reg.host}/single:1`);
  t.is(pulled.digest, layout.digest);
  t.deepEqual(pulled.config.config.Cmd, ['/a']);
  t.deepEqual(pulled.manifest.layers.map((l) => l.digest), layout.manifests[0].layerDigests);
  for (const d of [pulled.digest, pulled.manifest.config.digest, ...layout.manifests[0].layerDigests]) t.true(await content.has(d), d);
  const done = events.filter((e) => e.type === 'vertex.progress' && e.current === e.total);
  t.is(done.length, 3);

  // a second pull finds everything stored and gives the same answer
  const again = await pullImage({ client: createRegistryClient(), content, ref: `${reg.host}/single@${layout.digest}` });
  t.is(again.digest, pulled.digest);
});

test('from an index, the linux/amd64 manifest is chosen (or the platform asked for)', async (t) => {
  const platforms = [
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'linux', architecture: 'amd64' },
  ];
  const layout = await makeOciLayout(join(work, 'multi'), { layers: [{ 'x.txt': 'x' }], platforms });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/multi:latest`, { all: true });
  const content = await freshStore();
  const client = createRegistryClient();
  const amd64 = await pullImage({ client, content, ref: `${reg.host}/multi` });
  t.is(amd64.digest, layout.manifests[1].digest);
  t.is(amd64.config.architecture, 'amd64');
  t.true(await content.has(layout.digest), 'the index itself is kept');
  t.false(await content.has(layout.manifests[0].layerDigests[0]), 'the arm64 layers are not downloaded');

  const arm = await pullImage({ client, content, ref: `${reg.host}/multi`, platform: { os: 'linux', architecture: 'arm64' } });
  t.is(arm.digest, layout.manifests[0].digest);

  const e = await t.throwsAsync(pullImage({ client, content, ref: `${reg.host}/multi`, platform: { os: 'linux', architecture: 's390x' } }));
  t.is((e as { code?: string }).code, 'IMAGE_NOT_FOUND');
  t.regex(e!.message, /linux\/s390x/);
  t.regex((e as { hint?: string }).hint ?? '', /linux\/arm64\/v8, linux\/amd64/);
});

test('a missing tag or repository is IMAGE_NOT_FOUND naming the ref', async (t) => {
  const layout = await makeOciLayout(join(work, 'tagged'), { layers: [{ 'a.txt': 'a' }] });
  await pushToRegistry(`oci:${layout.dir}:latest`, `${reg.host}/tagged:1`);
  const content = await freshStore();
  const client = createRegistryClient();
  const e = await t.throwsAsync(pullImage({ client, content, ref: `${reg.host}/tagged:nope` }));
  t.is((e as { code?: string }).code, 'IMAGE_NOT_FOUND');
  t.is((e as { kind?: string }).kind, 'not-found');
  t.true(e!.message.includes(`${reg.host}/tagged:nope`), e!.message);
  const e2 = await t.throwsAsync(pullImage({ client, content, ref: `${reg.host}/nothing/here` }));
  t.is((e2 as { code?: string }).code, 'IMAGE_NOT_FOUND');
  t.true(e2!.message.includes(`${reg.host}/nothing/here:latest`), e2!.message);
});

test('an unreachable registry fails with REGISTRY_ERROR after retrying', async (t) => {
  const content = await freshStore();
  // a port that was free a moment ago: nothing listens there, so the connection is refused
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const started = Date.now();
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient(), content, ref: `127.0.0.1:${port}/app` }));
  t.is((e as { code?: string }).code, 'REGISTRY_ERROR');
  t.is(e!.message, `cannot reach registry 127.0.0.1:${port} (for 127.0.0.1:${port}/app): connection refused`);
  t.regex((e as { hint?: string }).hint ?? '', /is the registry running/);
  t.true(Date.now() - started >= 2600, 'three retries waited 0.2 + 0.6 + 1.8 s');
});
