// Concurrent pulls into one root: a blob can be stored by another process between the client's
// `has` and the store taking the body. The store then reads none of it; the unread body held its
// keep-alive connection, which kept the pull's process alive after it had printed its result (three
// pulls at once hung in most tries). Neither the connection nor a stream may outlive the call.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openContentStore, type BlobInfo } from '../../src/content/index.ts';
import { createRegistryClient, parseReference } from '../../src/registry/index.ts';

test('a blob another process stored meanwhile: its body is not left holding the connection', async (t) => {
  let closed!: () => void;
  const connectionClosed = new Promise<void>((ok) => (closed = ok));
  const server = createServer((req, res) => {
    // the whole body at once, as docker-registry sends a small blob: the client has it all, unread
    res.writeHead(200, { 'content-length': '100' });
    res.end(Buffer.alloc(100));
    req.socket.on('close', () => closed());
  });
  // the server keeps an idle connection far longer than the test waits
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createRegistryClient();
  t.teardown(() => client.close());
  const desc = { mediaType: 'application/octet-stream', digest: `sha256:${'b'.repeat(64)}`, size: 100 };
  // the store as it is when another pull stored the blob after `has` said no: nothing is read
  const content = { has: async () => false, putStream: async (): Promise<BlobInfo> => ({ digest: desc.digest, size: desc.size }) };
  t.deepEqual(await client.fetchBlob(parseReference(`${host}/app:1`), desc, content as never), { digest: desc.digest, size: desc.size });
  const timedOut = Symbol('timed out');
  const outcome = await Promise.race([connectionClosed, new Promise((ok) => setTimeout(() => ok(timedOut), 5000))]);
  t.not(outcome, timedOut, 'the connection of the unread body stayed open');
});

test('putStream of a blob the store has destroys the stream it did not read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-stored-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const content = openContentStore(join(dir, 'content'));
  const stored = await content.putBytes('already here');
  const source = new Readable({ read() {} });
  source.push('already here');
  t.deepEqual(await content.putStream(source, { digest: stored.digest }), stored);
  t.true(source.destroyed);
});
