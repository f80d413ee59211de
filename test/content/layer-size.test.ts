// A layer's unpacked size read from its compressed blob (src/content/layer-size.ts): gzip's ISIZE
// trailer, zstd's frame content size, and the blob's own size where neither says.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { openContentStore, unpackedLayerSize } from '../../src/content/index.ts';
import { zstdContentSize } from '../../src/content/layer-size.ts';

test('gzip and zstd blobs say their tar size; an uncompressed one is its own size', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-layer-size-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const content = openContentStore(dir);
  const tar = Buffer.concat([randomBytes(100_000), Buffer.alloc(400_000)]);
  const put = async (bytes: Buffer, mediaType: string) => ({ mediaType, ...(await content.putBytes(bytes)) });
  t.is(await unpackedLayerSize(content, await put(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip')), tar.length);
  t.is(await unpackedLayerSize(content, await put(zstdCompressSync(tar), 'application/vnd.oci.image.layer.v1.tar+zstd')), tar.length);
  t.is(await unpackedLayerSize(content, await put(tar, 'application/vnd.oci.image.layer.v1.tar')), tar.length);
  // random bytes grow a little in gzip: that is no ISIZE that wrapped past 4 GiB
  const random = randomBytes(300_000);
  const grown = gzipSync(random, { level: 1 });
  t.true(grown.length > random.length);
  t.is(await unpackedLayerSize(content, await put(grown, 'application/vnd.oci.image.layer.v1.tar+gzip')), random.length);
  // several members (eStargz ends with a small footer member): the last one's ISIZE is not the
  // layer's, and the blob's own size is shown rather than a size made up
  const members = Buffer.concat([gzipSync(tar), gzipSync(Buffer.from('footer'))]);
  t.is(await unpackedLayerSize(content, await put(members, 'application/vnd.oci.image.layer.v1.tar+gzip')), members.length);
  // a blob that is not there: its descriptor's size
  t.is(await unpackedLayerSize(content, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'c'.repeat(64)}`, size: 1234 }), 1234);
});

test('zstd frame headers: each content-size field width, and none', (t) => {
  const header = (descriptor: number, ...rest: number[]) => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...rest]);
  t.is(zstdContentSize(header(0x20, 200)), 200); // single segment, 1 byte
  t.is(zstdContentSize(header(0x60, 0x10, 0x00)), 0x10 + 256); // 2 bytes, plus 256
  t.is(zstdContentSize(header(0x80, 0x00, 0x01, 0x02, 0x03, 0x04)), 0x04030201); // window byte, then 4 bytes
  t.is(zstdContentSize(header(0x00, 0x00)), undefined); // no content size
  t.is(zstdContentSize(Buffer.from('not zstd at all')), undefined);
});
