// The first `tsbuild push` of a built image (its layers stored as tars, never compressed) uploads
// each layer's gzip blob while it is made: one streamed PATCH per layer (chunked, no length), the
// digest given at the final PUT. What the registry then holds must be what the local store keeps
// (a second push uploads nothing), and a fault in the streamed upload must still end in a good push.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildBusybox, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { startRegistry, type TestRegistry } from '../_support/registry.ts';
import { listenLocal } from '../_support/local-server.ts';

const work = tempDir('tsbuild-push-streamed-');
const built = join(work, 'built');
let registry: TestRegistry;

test.before(async () => {
  registry = await startRegistry();
  await buildBusybox(built);
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
});

interface Seen {
  method: string;
  path: string;
  chunked: boolean;
  /** The proxy cut this request off. */
  dropped?: boolean;
}

/**
 * A proxy to the registry recording each request before answering it; `fault` picks requests to
 * answer 500 to, or to cut off (client and registry connections dropped) after that many body bytes
 * when `take()` agrees at that point.
 */
async function startProxy(fault: (req: IncomingMessage) => 'fail-500' | { dropAfter: number; take: () => boolean } | undefined = () => undefined) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const record: Seen = { method: req.method ?? '', path: req.url ?? '', chunked: req.headers['transfer-encoding'] === 'chunked' && req.headers['content-length'] === undefined };
    seen.push(record);
    const f = fault(req);
    if (f === 'fail-500') {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('injected fault');
      return;
    }
    const [host, port] = registry.host.split(':');
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: registry.host } }, (upRes) => {
      const headers = { ...upRes.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(registry.host, `127.0.0.1:${(server.address() as AddressInfo).port}`);
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    if (f === undefined) return void req.pipe(up);
    let forwarded = 0;
    req.on('data', (chunk: Buffer) => {
      if (record.dropped) return;
      if (forwarded + chunk.length <= f.dropAfter || record.dropped === false || !f.take()) {
        if (forwarded + chunk.length > f.dropAfter) record.dropped = false;
        forwarded += chunk.length;
        return void up.write(chunk);
      }
      up.write(chunk.subarray(0, f.dropAfter - forwarded), () => {
        req.socket.destroy();
        up.destroy();
      });
      forwarded = f.dropAfter;
      record.dropped = true;
      req.pause();
    });
    req.on('end', () => up.end());
  });
  return { ...(await listenLocal(server)), seen };
}

/** A copy of the built root, whose layers were never compressed. */
function freshRoot(name: string): string {
  const root = join(work, name);
  execFileSync('cp', ['-a', built, root]);
  return root;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const storedBlob = (root: string, digest: string) => join(root, 'content', 'blobs', 'sha256', digest.slice(7));

/** The manifest the registry holds under `ref`, each of its layers fetched (GET) and hashed. */
function remoteLayers(ref: string): { mediaType: string; digest: string; size: number; fetched: Buffer }[] {
  const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as { layers: { mediaType: string; digest: string; size: number }[] };
  const [host, ...rest] = ref.split('/');
  const repo = rest.join('/').replace(/:[^:]+$/, '');
  return manifest.layers.map((l) => ({ ...l, fetched: execFileSync('curl', ['-sf', `http://${host}/v2/${repo}/blobs/${l.digest}`], { maxBuffer: 64 << 20 }) }));
}

async function assertPushed(t: import('ava').ExecutionContext, root: string, ref: string) {
  const layers = remoteLayers(ref);
  t.true(layers.length > 0);
  for (const l of layers) {
    t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    t.is(sha256(l.fetched), l.digest);
    t.is(l.fetched.length, l.size);
    // the local store keeps the same gzip blob, so a later push reuses it
    t.true(existsSync(storedBlob(root, l.digest)), `${l.digest} is in the local store`);
    t.true(readFileSync(storedBlob(root, l.digest)).equals(l.fetched));
  }
  t.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'nothing left in content/ingest');
  return layers;
}

test('a first push streams each layer up as it is compressed; the registry and the store then hold the same gzip blobs', async (t) => {
  const root = freshRoot('first');
  const proxy = await startProxy();
  t.teardown(() => proxy.stop());
  const ref = `${proxy.host}/team/streamed:1`;
  t.is((await runTsbuild(['tag', 'busybox', ref], { root })).code, 0);
  const pushed = await runTsbuild(['push', ref], { root });
  t.is(pushed.code, 0, pushed.stderr);
  const layers = await assertPushed(t, root, `${registry.host}/team/streamed:1`);
  // one streamed PATCH per layer, and no layer sent whole (a PUT with a body)
  t.is(proxy.seen.filter((r) => r.method === 'PATCH' && r.chunked).length, layers.length);
  t.is(proxy.seen.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && !r.path.includes('digest=')).length, 0);

  // a second push uploads nothing: HEADs only
  const first = proxy.seen.length;
  const again = await runTsbuild(['push', ref], { root });
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout, pushed.stdout);
  t.deepEqual([...new Set(proxy.seen.slice(first).map((r) => r.method))], ['HEAD']);
});

test('a streamed upload the registry fails (500 on its PATCH) is uploaded again from the store', async (t) => {
  const root = freshRoot('fault');
  let patches = 0;
  const proxy = await startProxy((req) => (req.method === 'PATCH' && patches++ === 0 ? 'fail-500' : undefined));
  t.teardown(() => proxy.stop());
  const ref = `${proxy.host}/team/fault:1`;
  t.is((await runTsbuild(['tag', 'busybox', ref], { root })).code, 0);
  const pushed = await runTsbuild(['push', ref], { root });
  t.is(pushed.code, 0, pushed.stderr);
  const layers = await assertPushed(t, root, `${registry.host}/team/fault:1`);
  // the failed layer went up again from the store, in a PUT with its digest (after a HEAD)
  t.is(proxy.seen.filter((r) => r.method === 'PATCH').length, layers.length);
  t.is(proxy.seen.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/')).length, layers.length + 1);
});

test('a streamed upload whose connection drops in the middle is uploaded again from the store', async (t) => {
  const root = freshRoot('dropped');
  let cut = false;
  // the first streamed layer to reach 64 KiB (busybox's binary) is cut there
  const take = () => !cut && (cut = true);
  const proxy = await startProxy((req) => (req.method === 'PATCH' ? { dropAfter: 64 * 1024, take } : undefined));
  t.teardown(() => proxy.stop());
  const ref = `${proxy.host}/team/dropped:1`;
  t.is((await runTsbuild(['tag', 'busybox', ref], { root })).code, 0);
  const pushed = await runTsbuild(['push', ref], { root });
  t.is(pushed.code, 0, pushed.stderr);
  const layers = await assertPushed(t, root, `${registry.host}/team/dropped:1`);
  t.is(proxy.seen.filter((r) => r.dropped).length, 1);
  // the cut layer's streamed upload got no final PUT; it went up whole from the store instead
  t.is(proxy.seen.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/')).length, layers.length + 1);
});

test('a layer another root pushed already is streamed but not committed again: its session is cancelled', async (t) => {
  const ref = `${registry.host}/team/twice:1`;
  const one = freshRoot('twice-one');
  t.is((await runTsbuild(['tag', 'busybox', ref], { root: one })).code, 0);
  t.is((await runTsbuild(['push', ref], { root: one })).code, 0);
  // another root with the same image, its layers never compressed: the same gzip blobs are made
  const two = freshRoot('twice-two');
  const proxy = await startProxy();
  t.teardown(() => proxy.stop());
  const viaProxy = `${proxy.host}/team/twice:1`;
  t.is((await runTsbuild(['tag', 'busybox', viaProxy], { root: two })).code, 0);
  const pushed = await runTsbuild(['push', viaProxy], { root: two });
  t.is(pushed.code, 0, pushed.stderr);
  const layers = await assertPushed(t, two, ref);
  t.is(proxy.seen.filter((r) => r.method === 'DELETE' && r.path.includes('/blobs/uploads/')).length, layers.length);
  t.is(proxy.seen.filter((r) => r.method === 'PUT').length, 0, 'no blob committed again, no manifest sent again');
});
