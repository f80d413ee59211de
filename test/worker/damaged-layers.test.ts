// issue 7 item 3: a layer whose compression is damaged fails the build with a message naming the
// image, the layer digest and the cause; Node does not crash and no tmp/unpack-* is left behind.
// The blobs match their digests (a registry or layout published them so), so only unpacking sees it.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { buildOnCrafted, craftImage, type CraftedImage } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const noise = async () => tarOf({ 'noise.bin': randomBytes(300 * 1024).toString('latin1') });

const damaged: [string, () => Promise<{ blob: Buffer; mediaType?: string }>][] = [
  ['gzip magic and junk', async () => ({ blob: Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), randomBytes(4096)]) })],
  ['a gzip cut in half', async () => {
    const gz = gzipSync(await noise());
    return { blob: gz.subarray(0, gz.length >> 1) };
  }],
  ['zstd magic and junk', async () => ({ blob: Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(4096)]), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' })],
  ['a zstd cut in half', async () => {
    const z = zstdCompressSync(await noise());
    return { blob: z.subarray(0, z.length >> 1), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' };
  }],
];

async function buildFrom(t: { teardown(fn: () => void): void }, img: CraftedImage, via: 'layout' | 'registry') {
  const r = await buildOnCrafted(t, img, via, (from) => `FROM scratch\nCOPY --from=${from} / /out/\n`);
  const tmp = join(r.root, 'tmp');
  const leftovers = existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('unpack-')) : [];
  return { ...r, leftovers };
}

for (const [name, make] of damaged) {
  for (const via of ['layout', 'registry'] as const) {
    test(`issue 7: ${name} as a layer (${via}) fails naming the image and layer, leaving nothing`, async (t) => {
      const good = await tarOf({ 'ok.txt': 'ok' });
      const bad = await make();
      const img = craftImage({ layers: [good], rawLayers: [bad] });
      const badDigest = [...img.blobs.keys()].find((d) => img.blobs.get(d) === bad.blob)!;
      const r = await buildFrom(t, img, via);
      t.is(r.code, 1, r.stderr);
      const ref = via === 'layout' ? `@${img.manifestDigest}` : r.from;
      const line = r.stderr.split('\n').find((l) => l.startsWith('ERROR: '));
      t.regex(line ?? '', /: layer sha256:[0-9a-f]{64} is damaged: its (gzip|zstd) stream does not decompress \(.+\)$/);
      t.true(line?.includes(`image ${ref}: layer ${badDigest} is damaged`), line);
      t.notRegex(r.stderr, /internal error|Unhandled 'error' event|    at /);
      t.deepEqual(r.leftovers, []);
    });
  }
}

test('issue 7: a layer whose tar does not parse (plain junk) fails naming the image and layer', async (t) => {
  const img = craftImage({ rawLayers: [{ blob: gzipSync(randomBytes(2048)) }] });
  const r = await buildFrom(t, img, 'layout');
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /layer sha256:[0-9a-f]{64} is damaged: /);
  t.notRegex(r.stderr, /internal error|    at /);
  t.deepEqual(r.leftovers, []);
});

test('issue 7: ADD of a truncated .tar.gz names the file and the Dockerfile line, without a stack trace', async (t) => {
  const gz = gzipSync(await noise());
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nADD app.tar.gz /x/\n' });
  t.teardown(() => {
    removeDir(root);
    removeDir(ctx);
  });
  writeFileSync(join(ctx, 'app.tar.gz'), gz.subarray(0, gz.length >> 1));
  const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /ERROR: Dockerfile:2: .*"app\.tar\.gz" is a damaged gzip-compressed tar archive: unexpected end of file/);
  t.regex(r.stderr, />>> 2 \| ADD app\.tar\.gz \/x\//);
  t.notRegex(r.stderr, /internal error|    at /);
});
