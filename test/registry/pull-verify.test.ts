// Issue 10 "Pull: all blobs verified": a registry that serves a layer or a config of the right size
// but other bytes than its digest says fails the build naming the blob; the bad bytes are stored
// nowhere, so a later pull from an honest registry is not answered from them.
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnCrafted, craftImage, type CraftedImage } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';

/** The image with one byte of blob `digest` flipped: same size, other bytes. */
function flipped(img: CraftedImage, digest: string): CraftedImage {
  const bytes = Buffer.from(img.blobs.get(digest)!);
  bytes[bytes.length >> 1] ^= 0xff;
  return { ...img, blobs: new Map([...img.blobs, [digest, bytes]]) };
}

for (const which of ['layer', 'config'] as const) {
  test(`a ${which} whose bytes do not match its digest fails the pull naming it, and is stored nowhere`, async (t) => {
    const img = craftImage({ layers: [await tarOf({ 'a.txt': 'a'.repeat(3000) })] });
    const manifest = JSON.parse(img.manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
    const digest = which === 'layer' ? manifest.layers[0].digest : manifest.config.digest;
    const r = await buildOnCrafted(t, flipped(img, digest), 'registry', (from) => `FROM ${from}\nLABEL pulled=1\n`);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, new RegExp(`^ERROR: .*${digest}`, 'm'));
    t.notRegex(r.stderr, /internal error|^\s+at /m);
    const blobs = join(r.root, 'content', 'blobs', 'sha256');
    t.true(existsSync(join(r.root, 'content')), 'the store was made');
    t.false(existsSync(join(blobs, digest.slice(7))), 'the damaged blob is not in the store');
    const ingest = join(r.root, 'content', 'ingest');
    t.deepEqual(existsSync(ingest) ? readdirSync(ingest) : [], [], 'no partial blob is left');
  });
}
