// A registry that redirects blob reads to a blob store (a CDN, S3) on another origin: the store gets
// none of the registry's credentials. It did get them when it answered the redirected GET with a
// 401 Bearer challenge of its own: that was answered as the registry's, and the registry's Basic
// credentials went to the token realm the store named.
import test from 'ava';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthenticator, createRegistryClient, parseReference } from '../../src/registry/index.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))) };
}

test('a 401 from the host a redirect led to is never answered with the registry\'s credentials', async (t) => {
  const blob = Buffer.from('layer bytes');
  const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  const seenByStore: string[] = [];
  const store = await serve((req, res) => {
    seenByStore.push(`${req.url} ${req.headers.authorization ?? '-'}`);
    if (req.url?.startsWith('/token')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t0k"}');
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://localhost:${storePort}/token",service="evil"` }).end();
  });
  const storePort = store.port;
  const registry = await serve((req, res) => {
    if (req.headers.authorization !== basic) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="reg"' }).end();
    res.writeHead(307, { location: `http://localhost:${storePort}/blob` }).end();
  });
  t.teardown(async () => {
    await registry.close();
    await store.close();
  });
  const client = createRegistryClient({ auth: createAuthenticator({ credentials: () => ({ username: 'alice', password: 's3cret' }) }) });
  t.teardown(() => client.close());
  const content = { has: async () => false, putStream: async () => ({ digest: sha(blob), size: blob.length }) };
  const fetch = () => client.fetchBlob(parseReference(`127.0.0.1:${registry.port}/x/y:1`), { mediaType: 'application/octet-stream', digest: sha(blob), size: blob.length }, content as never);
  // twice: the first learns the registry's Basic challenge; the second sends Basic at once, and its
  // redirect ends at the store's own challenge
  for (let i = 0; i < 2; i++) {
    const e = (await t.throwsAsync(fetch())) as Error & { hint?: string };
    t.regex(String(e), /401|unauthori[sz]ed|denied/i);
    // the refusal is the store's: no advice to log in to the registry
    t.regex(e.hint ?? '', /sent the request on to localhost:\d+, which refused it/);
  }
  t.true(seenByStore.length > 0, 'the registry redirected to the store');
  t.deepEqual(seenByStore.filter((s) => !s.endsWith(' -')), [], 'no request to the store carried credentials');
  t.false(seenByStore.some((s) => s.startsWith('/token')), 'the store\'s token realm was never asked');
});
