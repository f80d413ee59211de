// src/registry/http.ts against real node:http servers on loopback: redirects as fetch followed
// them (credentials stay on their origin), aborts, a refused connection said as before, a
// streamed upload body, TLS with the default CAs, and idle keep-alive connections that do not hold the process.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHttpAgents, httpRequest, MaxRedirects } from '../../src/registry/http.ts';
import { isConnectionError, unreachable } from '../../src/registry/errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

async function serve(t: { teardown(fn: () => void): void }, handler: Handler): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, server };
}

test('a GET is redirected to storage on another host, and the Authorization header stays behind', async (t) => {
  const seen: { host: string; auth?: string }[] = [];
  const storage = await serve(t, (req, res) => {
    seen.push({ host: req.headers.host ?? '', auth: req.headers.authorization });
    res.end('blob bytes');
  });
  const registry = await serve(t, (req, res) => {
    seen.push({ host: req.headers.host ?? '', auth: req.headers.authorization });
    // 307 to itself first (same origin: credentials kept), then 302 to the storage host
    if (req.url === '/v2/app/blobs/x') res.writeHead(307, { location: '/v2/app/blobs/x2' }).end();
    else res.writeHead(302, { location: `http://localhost:${storage.port}/bucket/x?sig=1` }).end();
  });
  const agents = createHttpAgents();
  t.teardown(() => agents.destroy());
  const res = await httpRequest(`http://127.0.0.1:${registry.port}/v2/app/blobs/x`, { headers: { authorization: 'Bearer secret' } }, agents);
  t.is(res.status, 200);
  t.true(res.ok);
  t.is(await res.text(), 'blob bytes');
  t.is(res.url, `http://localhost:${storage.port}/bucket/x?sig=1`);
  t.deepEqual(seen, [
    { host: `127.0.0.1:${registry.port}`, auth: 'Bearer secret' },
    { host: `127.0.0.1:${registry.port}`, auth: 'Bearer secret' },
    { host: `localhost:${storage.port}`, auth: undefined },
  ]);
});

test('a redirect loop ends after the redirect limit with a connection-style error; a PUT gets the 3xx itself', async (t) => {
  let hits = 0;
  const { port } = await serve(t, (req, res) => {
    hits++;
    res.writeHead(308, { location: req.url ?? '/' }).end();
  });
  const e = await t.throwsAsync(httpRequest(`http://127.0.0.1:${port}/loop`, { method: 'HEAD' }));
  t.regex(e.message, /request failed/);
  t.regex(String((e.cause as Error).message), new RegExp(`more than ${MaxRedirects} redirects`));
  t.is(hits, MaxRedirects + 1);
  const put = await httpRequest(`http://127.0.0.1:${port}/loop`, { method: 'PUT', body: Buffer.from('x') });
  t.is(put.status, 308);
  t.false(put.ok);
  t.is(put.headers.get('Location'), '/loop');
  put.cancel();
});

test('an abort before the answer rejects with the reason; during the body it errors the body with it', async (t) => {
  const { port } = await serve(t, (req, res) => {
    if (req.url === '/never') return; // no answer at all
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first bytes');
    // and then nothing
  });
  const early = new AbortController();
  const pending = httpRequest(`http://127.0.0.1:${port}/never`, { signal: early.signal });
  setTimeout(() => early.abort(new Error('stalled before the headers')), 100);
  await t.throwsAsync(pending, { message: 'stalled before the headers' });

  const late = new AbortController();
  const res = await httpRequest(`http://127.0.0.1:${port}/slow`, { signal: late.signal });
  t.is(res.status, 200);
  t.is(res.headers.get('Content-Type'), 'text/plain');
  setTimeout(() => late.abort(new Error('stalled in the body')), 100);
  await t.throwsAsync(res.text(), { message: 'stalled in the body' });

  const already = AbortSignal.abort(new Error('cancelled already'));
  await t.throwsAsync(httpRequest(`http://127.0.0.1:${port}/x`, { signal: already }), { message: 'cancelled already' });
});

test('a refused connection is a connection error, said as "cannot reach registry … connection refused"', async (t) => {
  // a port that was just free: bound, noted, closed
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const e = await t.throwsAsync(httpRequest(`http://127.0.0.1:${port}/v2/`));
  t.true(isConnectionError(e));
  t.is((e.cause as { code?: string }).code, 'ECONNREFUSED');
  t.is(unreachable(`127.0.0.1:${port}`, e, `127.0.0.1:${port}/app`).message, `cannot reach registry 127.0.0.1:${port} (for 127.0.0.1:${port}/app): connection refused`);
  const dns = await t.throwsAsync(httpRequest('http://no-such-host.invalid/v2/'));
  t.false(isConnectionError(dns));
  t.regex(unreachable('no-such-host.invalid', dns).message, /cannot resolve the host name no-such-host\.invalid \((ENOTFOUND|EAI_AGAIN)\)/);
});

test('a streamed body goes chunked, whole; a Buffer body goes with its Content-Length; a failing stream fails the request', async (t) => {
  const got: { te?: string; length?: string; body: string; agent?: string }[] = [];
  const { port } = await serve(t, (req, res, body) => {
    got.push({ te: req.headers['transfer-encoding'], length: req.headers['content-length'], body: body.toString(), agent: req.headers['user-agent'] });
    res.writeHead(201).end();
  });
  async function* parts() {
    for (let i = 0; i < 50; i++) yield Buffer.from(`part ${i};`);
  }
  const res = await httpRequest(`http://127.0.0.1:${port}/upload`, { method: 'PATCH', body: parts() });
  t.is(res.status, 201);
  const put = await httpRequest(`http://127.0.0.1:${port}/upload`, { method: 'PUT', body: Buffer.from('manifest') });
  t.is(put.status, 201);
  t.deepEqual(got, [
    { te: 'chunked', length: undefined, body: Array.from({ length: 50 }, (_, i) => `part ${i};`).join(''), agent: 'tsbuild' },
    { te: undefined, length: '8', body: 'manifest', agent: 'tsbuild' },
  ]);
  async function* broken() {
    yield Buffer.from('some');
    throw new Error('the blob on disk is damaged');
  }
  const e = await t.throwsAsync(httpRequest(`http://127.0.0.1:${port}/upload`, { method: 'PUT', body: broken(), headers: { 'content-length': '100' } }));
  t.is((e.cause as Error).message, 'the blob on disk is damaged');
});

test('idle keep-alive connections do not keep the process alive, and are reused', async (t) => {
  const ports = new Set<number>();
  const { port, server } = await serve(t, (req, res) => {
    ports.add(req.socket.remotePort ?? 0);
    res.end('ok');
  });
  // the server keeps an idle connection open for good (its default closes it after 5 s): a child
  // whose pooled socket kept it alive would never exit, whatever the machine's load
  server.keepAliveTimeout = 0;
  const agents = createHttpAgents();
  t.teardown(() => agents.destroy());
  for (let i = 0; i < 3; i++) t.is(await (await httpRequest(`http://127.0.0.1:${port}/`, {}, agents)).text(), 'ok');
  t.is(ports.size, 1);
  // a child process that makes a request and then has nothing to do must exit at once
  const module = fileURLToPath(new URL('../../src/registry/http.ts', import.meta.url));
  const script = `import { httpRequest } from ${JSON.stringify(module)}; const r = await httpRequest('http://127.0.0.1:${port}/'); console.log(await r.text());`;
  // (not spawnSync: the server answering it runs in this process). A child that does not exit is
  // killed at the timeout and execFile rejects: far above a Node start under any load
  const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.is(child.stderr, '');
  t.is(child.stdout.trim(), 'ok');
});

test('https uses the default CAs (NODE_EXTRA_CA_CERTS adds to them); a certificate they do not sign fails like fetch did', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-http-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) => res.end('over tls'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`;
  const e = await t.throwsAsync(httpRequest(url));
  t.is((e.cause as { code?: string }).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  // retried, then said as unreachable, as fetch's 'fetch failed' was
  t.true(isConnectionError(e));
  t.regex(unreachable('127.0.0.1', e).message, /^cannot reach registry 127\.0\.0\.1: DEPTH_ZERO_SELF_SIGNED_CERT$/);
  const module = fileURLToPath(new URL('../../src/registry/http.ts', import.meta.url));
  const script = `import { httpRequest } from ${JSON.stringify(module)}; console.log(await (await httpRequest(${JSON.stringify(url)})).text());`;
  const child = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: cert } });
  t.is(child.stdout.trim(), 'over tls');
});
