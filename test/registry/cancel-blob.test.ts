// A build cancelled just as a blob's body arrives, before anything reads it, fails that blob with
// CANCELLED: it must not crash tsbuild with an unhandled stream error (seen when the FROM step
// began fetching its layers as SIGTERM came).
import test from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BlobInfo } from '../../src/content/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createRegistryClient, parseReference } from '../../src/registry/index.ts';

test('cancelling between a blob response and its first read is a CANCELLED error, not a crash', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write(Buffer.alloc(10));
    // and then nothing: the transfer stays open until the client goes
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cancel = new AbortController();
  const client = createRegistryClient({ signal: cancel.signal });
  // a store that is slow to open its ingest file: the body has arrived and nobody reads it yet
  const content = {
    has: async () => false,
    putStream: async (source: AsyncIterable<Uint8Array>): Promise<BlobInfo> => {
      cancel.abort(new Error('cancelled by the user'));
      await new Promise((r) => setTimeout(r, 100));
      for await (const _ of source) {
        // drained
      }
      throw new Error('unreachable: the body ends with the abort');
    },
  };
  const e = await t.throwsAsync(client.fetchBlob(parseReference(`${host}/app:1`), { mediaType: 'application/octet-stream', digest: `sha256:${'a'.repeat(64)}`, size: 100 }, content as never));
  t.true(isTsbuildError(e) && e.code === 'CANCELLED', String(e));
});
