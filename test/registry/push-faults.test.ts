// Pushes that meet faults on the way to a real docker-registry: a proxy the test runs in front of
// it answers 500 once, or drops the connection in the middle of an upload; and a registry that is
// not running at all. The push must succeed where retrying helps (resuming a chunked upload where
// the registry got to), and fail with a clear error where it cannot.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openContentStore } from '../../src/content/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createAuthenticator, createRegistryClient, pushImage } from '../../src/registry/index.ts';
import { createImageView } from '../../exporter/index.ts';
import { startRegistry } from '../_support/registry.ts';
import { listenLocal } from '../_support/local-server.ts';

const run = promisify(execFile);

type Fault = 'pass' | 'fail-500' | { dropAfter: number };

interface SeenRequest {
  method: string;
  path: string;
  /** Body bytes that reached the registry. */
  forwarded: number;
}

/** A proxy to `upstream` that applies `fault` to each request, recording what passed. */
async function startFaultProxy(upstream: string, fault: (req: IncomingMessage) => Fault) {
  const seen: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const f = fault(req);
    const record: SeenRequest = { method: req.method ?? '', path: req.url ?? '', forwarded: 0 };
    seen.push(record);
    if (f === 'fail-500') {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('injected fault');
      return;
    }
    const [host, port] = upstream.split(':');
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: upstream } }, (upRes) => {
      // Location headers name the upstream: the client must keep talking to the proxy
      const headers = { ...upRes.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream, `127.0.0.1:${(server.address() as AddressInfo).port}`);
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      if (typeof f === 'object' && record.forwarded + chunk.length > f.dropAfter) {
        const keep = f.dropAfter - record.forwarded;
        record.forwarded += keep;
        up.write(chunk.subarray(0, keep), () => {
          // the client's connection drops mid-body; the registry sees its request cut off too
          req.socket.destroy();
          up.destroy();
        });
        req.pause();
        return;
      }
      record.forwarded += chunk.length;
      up.write(chunk);
    });
    req.on('end', () => up.end());
  });
  return { ...(await listenLocal(server)), seen };
}

async function setup(t: { teardown(fn: () => unknown): void }, layerSizes: number[]) {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-push-faults-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  const content = openContentStore(join(dir, 'content'));
  // random bytes stand in for compressed layers: the registry checks digests, not contents
  const blobs = [];
  for (const size of layerSizes) blobs.push(await content.putBytes(randomBytes(size)));
  const view = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
    layers: blobs.map((b) => ({ diffId: b.digest, digest: b.digest, size: b.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false })),
    content,
  });
  return { reg, content, view, blobs };
}

const inspect = async (ref: string) => JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`])).stdout) as { layers: { digest: string }[] };

test('a 500 on the first upload is retried and the push succeeds', async (t) => {
  const { reg, content, view, blobs } = await setup(t, [1000, 2000]);
  let failed = 0;
  const proxy = await startFaultProxy(reg.host, (req) => (req.method === 'POST' && failed++ === 0 ? 'fail-500' : 'pass'));
  t.teardown(() => proxy.stop());
  await pushImage({ client: createRegistryClient(), content, ref: `${proxy.host}/app:1`, descriptor: view.manifestDescriptor });
  t.is(proxy.seen.filter((r) => r.method === 'POST').length, 4, 'three blobs, one of them started twice');
  t.deepEqual((await inspect(`${reg.host}/app:1`)).layers.map((l) => l.digest), blobs.map((b) => b.digest));
});

/** Pushes a 3 MiB blob in 1 MiB chunks through a proxy that cuts the second chunk after `dropAfter` bytes. */
async function pushThroughDrop(t: ExecutionContext, dropAfter: number) {
  const size = 3 * 1024 * 1024 + 123;
  const { reg, content, view, blobs } = await setup(t, [size]);
  let dropped = false;
  const proxy = await startFaultProxy(reg.host, (req) => {
    if (req.method === 'PATCH' && req.headers['content-range']?.startsWith('1048576-') && !dropped) {
      dropped = true;
      return { dropAfter };
    }
    return 'pass';
  });
  t.teardown(() => proxy.stop());
  await pushImage({ client: createRegistryClient(), content, ref: `${proxy.host}/big:1`, descriptor: view.manifestDescriptor, chunkSize: 1024 * 1024 });
  t.true(dropped);
  t.deepEqual((await inspect(`${reg.host}/big:1`)).layers.map((l) => l.digest), blobs.map((b) => b.digest));
  t.true(proxy.seen.some((r) => r.method === 'GET' && r.path.includes('/blobs/uploads/')), 'asked the registry how far it got');
  return { size, seen: proxy.seen, sent: proxy.seen.filter((r) => r.method === 'PATCH').reduce((n, r) => n + r.forwarded, 0) };
}

test('a connection dropped before a chunk reached the registry resumes the same upload at that chunk', async (t) => {
  const { size, seen, sent } = await pushThroughDrop(t, 0);
  t.is(seen.filter((r) => r.method === 'POST').length, 2, 'one upload session for each blob (layer and config): resumed, not restarted');
  t.is(sent, size, 'every byte sent once');
});

test('a connection dropped in the middle of a chunk starts the upload again when the registry dropped the session', async (t) => {
  const { size, seen, sent } = await pushThroughDrop(t, 300_000);
  // docker-registry cancels a session a cut-off chunk left part-written: a new one is opened
  t.is(seen.filter((r) => r.method === 'POST').length, 3);
  t.is(sent, size + 1024 * 1024 + 300_000);
});

test('a registry that is down fails the push with a clear error, not an internal one', async (t) => {
  const { reg, content, view } = await setup(t, [100]);
  await reg.stop();
  const e = await t.throwsAsync(pushImage({ client: createRegistryClient(), content, ref: `${reg.host}/app:1`, descriptor: view.manifestDescriptor }));
  t.true(isTsbuildError(e));
  t.like(e, { code: 'REGISTRY_ERROR', kind: 'unavailable', message: `cannot reach registry ${reg.host} (for ${reg.host}/app): connection refused` });
});

test('a mount the registry declines (202) goes on as an upload in the session it opened', async (t) => {
  const { reg, content, view, blobs } = await setup(t, [1000, 2000]);
  const proxy = await startFaultProxy(reg.host, () => 'pass');
  t.teardown(() => proxy.stop());
  await pushImage({ client: createRegistryClient(), content, ref: `${proxy.host}/app:1`, descriptor: view.manifestDescriptor, mountFrom: ['nothing/here'] });
  const posts = proxy.seen.filter((r) => r.method === 'POST');
  t.is(posts.length, 3, 'one POST per blob: the declined mount, no second session');
  t.true(posts.every((r) => r.path.includes('mount=') && r.path.includes('from=nothing%2Fhere')));
  t.deepEqual((await inspect(`${reg.host}/app:1`)).layers.map((l) => l.digest), blobs.map((b) => b.digest));
});

test('an upload Location on another host gets none of the registry credentials', async (t) => {
  const storageAuth: (string | undefined)[] = [];
  const storage = createServer((req, res) => {
    storageAuth.push(req.headers.authorization);
    req.resume();
    req.on('end', () => (res.writeHead(201), res.end()));
  });
  await new Promise<void>((ok) => storage.listen(0, '127.0.0.1', ok));
  const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`;
  const basic = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;
  // a registry that wants Basic auth and sends uploads to the storage service
  const registry = createServer((req, res) => {
    req.resume();
    if (req.headers.authorization !== basic) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
      return res.end();
    }
    if (req.method === 'HEAD') return res.writeHead(404).end();
    if (req.method === 'POST') return res.writeHead(202, { location: `http://${storageHost}/upload/1` }).end();
    res.writeHead(201).end();
  });
  await new Promise<void>((ok) => registry.listen(0, '127.0.0.1', ok));
  t.teardown(async () => {
    for (const s of [storage, registry]) await new Promise<void>((ok) => (s.closeAllConnections(), s.close(() => ok())));
  });
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-push-faults-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const content = openContentStore(join(dir, 'content'));
  const blob = await content.putBytes(randomBytes(100));
  const view = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } },
    layers: [{ diffId: blob.digest, digest: blob.digest, size: blob.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false }],
    content,
  });
  const client = createRegistryClient({ auth: createAuthenticator({ credentials: () => ({ username: 'ci', password: 's3cret' }) }) });
  await pushImage({ client, content, ref: `127.0.0.1:${(registry.address() as AddressInfo).port}/app:1`, descriptor: view.manifestDescriptor });
  t.is(storageAuth.length, 2, 'the layer and the config went to the storage service');
  t.deepEqual(storageAuth, [undefined, undefined]);
});

test('a re-push ends with its HEADs when the tag names the manifest already; a tag naming another image is moved back', async (t) => {
  const { reg, content, view: a, blobs } = await setup(t, [1000, 2000]);
  const b = await createImageView({
    config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/b'] }, rootfs: { type: 'layers', diff_ids: [] } },
    layers: blobs.map((x) => ({ diffId: x.digest, digest: x.digest, size: x.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', empty: false })),
    content,
  });
  // the proxy records each request before answering it: once a push has returned, all of it is there
  const proxy = await startFaultProxy(reg.host, () => 'pass');
  t.teardown(() => proxy.stop());
  const client = createRegistryClient();
  const ref = `${proxy.host}/app:1`;
  const requests = (from: number) => proxy.seen.slice(from).map((r) => `${r.method} ${r.path.includes('/manifests/') ? 'manifest' : 'blob'}`).sort();
  await pushImage({ client, content, ref, descriptor: a.manifestDescriptor });
  const first = proxy.seen.length;
  await pushImage({ client, content, ref, descriptor: a.manifestDescriptor });
  t.deepEqual(requests(first), ['HEAD blob', 'HEAD blob', 'HEAD blob', 'HEAD manifest'], 'nothing uploaded, no manifest sent again');

  // b under the same tag, then a again: the tag names b, so a's manifest is sent
  await pushImage({ client, content, ref, descriptor: b.manifestDescriptor });
  const before = proxy.seen.length;
  await pushImage({ client, content, ref, descriptor: a.manifestDescriptor });
  t.deepEqual(requests(before).filter((r) => !r.startsWith('HEAD')), ['PUT manifest']);
  const info = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/app:1`])).stdout) as { Digest: string };
  t.is(info.Digest, a.manifestDescriptor.digest);
});
