// Hostile servers against the registry's HTTP client (src/registry/http.ts) and its stall guard:
// a drip of one byte now and then, redirects to other schemes, endless headers, a body shorter
// than its Content-Length and a gzip bomb declared as Content-Encoding. Each ends in a clear
// error or plain bytes, promptly, with memory bounded.
import test from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { openContentStore } from '../../src/content/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createRegistryClient, pullImage } from '../../src/registry/index.ts';
import { createHttpAgents, httpRequest } from '../../src/registry/http.ts';
import { craftImage, startCraftedRegistry } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

async function serve(t: { teardown(fn: () => void): void }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Sends `body` one byte every `everyMs` until the client goes away. */
/** A content store's dir for a pull from `reg`; both go when the test ends. */
function contentDirStopping(t: { teardown(fn: () => void): void }, reg: { stop(): Promise<unknown> }): string {
  const dir = tempDir('tsbuild-content-');
  t.teardown(() => {
    void reg.stop();
    removeDir(dir);
  });
  return dir;
}

function drip(res: ServerResponse, body: Buffer, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= body.length) return void clearInterval(timer);
    res.write(body.subarray(at, ++at));
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

test('a manifest dripped one byte every 50 ms never goes quiet, but is aborted as a stalled transfer', async (t) => {
  const image = craftImage({ layers: [await tarOf({ 'a.txt': 'a' })] });
  let attempts = 0;
  const reg = await startCraftedRegistry(image, (what, _req, res) => {
    if (what !== 'manifest') return false;
    attempts++;
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': image.manifest.length });
    drip(res, image.manifest, 50);
    return true;
  });
  const dir = contentDirStopping(t, reg);
  const started = Date.now();
  // 300 ms without a byte would be a stall; the drip never waits that long
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient({ stallTimeoutMs: 300 }), content: openContentStore(dir), ref: `${reg.host}/drip:1` }));
  const took = Date.now() - started;
  t.true(isTsbuildError(e) && e.code === 'REGISTRY_ERROR' && e.kind === 'unavailable', String(e));
  t.regex(e!.message, new RegExp(`^${reg.host}/drip:1: the registry sent \\d+ bytes in 0\\.6 s \\(under 2048 bytes/s\\), the transfer stalled$`));
  t.is(attempts, 4, 'retried like a stall');
  // 4 windows of 0.6 s + the retries' backoff (0.2 + 0.6 + 1.8 s, +20% jitter); the whole drip
  // would take minutes: the message says the drip was cut, so the time is only logged
  t.log(`took ${took} ms`);
  t.true(image.manifest.length * 50 > 9000, 'the drip itself would have taken longer');
});

test('a transfer at a healthy pace is not taken for a drip, however long it runs', async (t) => {
  // base64 of random bytes: ~1.1 MB gzipped, about 2 s at this pace, three windows of 0.6 s
  const image = craftImage({ layers: [await tarOf({ 'big.txt': randomBytes(1100 << 10).toString('base64') })] });
  const layer = (JSON.parse(image.manifest.toString()) as { layers: { digest: string }[] }).layers[0];
  const blob = image.blobs.get(layer.digest)!;
  const reg = await startCraftedRegistry(image, (what, _req, res) => {
    if (what !== layer.digest) return false;
    // 6000 bytes every 10 ms: 600 kB/s, far over the floor and far under loopback's speed
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
    let at = 0;
    const timer = setInterval(() => {
      res.write(blob.subarray(at, (at += 6000)));
      if (at >= blob.length) {
        clearInterval(timer);
        res.end();
      }
    }, 10);
    res.on('close', () => clearInterval(timer));
    return true;
  });
  const dir = contentDirStopping(t, reg);
  const started = Date.now();
  await t.notThrowsAsync(pullImage({ client: createRegistryClient({ stallTimeoutMs: 300 }), content: openContentStore(dir), ref: `${reg.host}/steady:1` }));
  t.true(Date.now() - started > 1200, 'it spanned more than one window');
});

test('redirects to file:, data: and ftp: are refused, not followed', async (t) => {
  const port = await serve(t, (req, res) => {
    const to = { '/file': 'file:///etc/passwd', '/data': 'data:text/plain,hello', '/ftp': 'ftp://127.0.0.1/x' }[req.url ?? ''];
    res.writeHead(302, { location: to ?? '/' }).end();
  });
  for (const [path, scheme] of [['/file', 'file:'], ['/data', 'data:'], ['/ftp', 'ftp:']]) {
    const e = await t.throwsAsync(httpRequest(`http://127.0.0.1:${port}${path}`));
    t.is(e.message, 'request failed');
    t.is((e.cause as Error).message, `a redirect to ${scheme} is not followed`);
  }
});

test('endless response headers fail the request at node\'s header limit, with memory bounded', async (t) => {
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.write('HTTP/1.1 200 OK\r\n');
    const line = `x-junk: ${'a'.repeat(1000)}\r\n`;
    const pump = () => {
      while (!socket.destroyed && socket.write(line));
      if (!socket.destroyed) socket.once('drain', pump);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const agents = createHttpAgents();
  t.teardown(() => agents.destroy());
  const before = process.memoryUsage().rss;
  const e = await t.throwsAsync(httpRequest(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`, {}, agents));
  t.is(e.message, 'request failed');
  t.regex(String((e.cause as { code?: string }).code), /HPE_HEADER_OVERFLOW/);
  t.true(process.memoryUsage().rss - before < 64 << 20);
});

test('a body cut short of its Content-Length fails the read; a declared gzip is not inflated (no bomb)', async (t) => {
  const bomb = gzipSync(Buffer.alloc(64 << 20));
  const port = await serve(t, (req, res) => {
    if (req.url === '/short') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x'.repeat(10));
      setTimeout(() => res.socket?.destroy(), 20);
    } else {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
    }
  });
  const agents = createHttpAgents();
  t.teardown(() => agents.destroy());
  const short = await httpRequest(`http://127.0.0.1:${port}/short`, {}, agents);
  await t.throwsAsync(short.text());
  const gz = await httpRequest(`http://127.0.0.1:${port}/bomb`, {}, agents);
  const chunks: Buffer[] = [];
  for await (const c of gz.body!) chunks.push(c as Buffer);
  t.true(Buffer.concat(chunks).equals(bomb), 'the bytes as sent, not 64 MiB of zeros');
});
