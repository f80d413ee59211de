// Imported caches behind the local index (solver/imported-cache.ts): a miss against an imported
// record fetches that record's context listing (and only for a miss), so the explanation names the
// file and the cache; and which builds may leave their target as an import's layers
// (control/push-cached-layers.ts).
import test from 'ava';
import { join } from 'node:path';
import { createVertex, type ExecOp } from '../../src/llb/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import { encodeListing, type Listing } from '../../src/context/index.ts';
import { openCacheIndex, withImportedCaches, type ImportedCache, type KeyParts } from '../../solver/index.ts';
import { createMissExplainer } from '../../solver/explain-miss.ts';
import { missedListings } from '../../solver/imported-cache.ts';
import { cachedViewLayers, outputsTakeCachedLayers } from '../../control/push-cached-layers.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

const sha = (c: string) => `sha256:${c.repeat(64)}`;
const file = (path: string, id: string): string => [path, 'f', '644', '0:0', id.repeat(16)].join('\0');

test('a miss against an imported record names the changed file and the cache; a hit fetches no listing', async (t) => {
  const root = tempDir();
  const db = openDatabase(join(root, 'metadata.db'));
  try {
    const local = openCacheIndex(db, { exists: () => false, storedLayers: () => undefined });
    const before: Listing = [file('src/a.txt', '1'), file('src/b.txt', '2')];
    const after: Listing = [file('src/a.txt', '1'), file('src/b.txt', '3')];
    const listingBlob = { mediaType: 'application/vnd.tsbuild.cache.listing.v1+deflate', digest: sha('9'), size: 10 };
    const op: ExecOp = { kind: 'exec', args: ['/bin/sh', '-c', 'make'], env: [], cwd: '/', user: '', network: 'sandbox', mounts: [{ type: 'root', input: 0 }] };
    const v = createVertex(op, [], { name: '[build 2/3] COPY src/ /src/' });
    const theirs: KeyParts = { op: sha('a'), inputs: [], content: [sha('c')], step: 'step-1' };
    const mine: KeyParts = { op: sha('a'), inputs: [], content: [sha('d')], step: 'step-1' };
    const fetched: string[] = [];
    const stored = new Map<string, Buffer>();
    const imported: ImportedCache = {
      name: 'reg/app:cache',
      records: new Map([[sha('e'), { key: sha('e'), layers: [], parts: theirs, created: Date.parse('2026-12-03T12:00:00Z') }]]),
      listings: new Map([[sha('c'), listingBlob]]),
      downloaded: { blobs: 0, bytes: 0 },
      fetch: async (d) => {
        fetched.push(d.digest);
        stored.set(d.digest, encodeListing(before));
      },
    };
    const content = { has: async (d: string) => stored.has(d), readBytes: async (d: string) => stored.get(d)! };
    const cache = withImportedCaches(local, [imported], content);
    const keys = new Map([[v.digest, sha('f')]]);
    const parts = new Map([[v.digest, mine]]);

    // the key is the import's own: a hit, nothing to explain, nothing fetched
    t.deepEqual(missedListings([v], new Map([[v.digest, sha('e')]]), new Map([[v.digest, theirs]]), cache), []);
    const wanted = missedListings([v], keys, parts, cache);
    t.deepEqual(wanted, [sha('c')]);
    await cache.loadListings!(wanted);
    t.deepEqual(fetched, [listingBlob.digest]);
    const explainer = createMissExplainer({ cache, parts, listings: (c) => (c === sha('d') ? after : undefined) });
    t.regex(explainer.miss(v, sha('f'))!.reason, /^src\/b\.txt content changed \(since the build of [\d-]+ [\d:]+ in cache-from reg\/app:cache\)$/);
    // a listing that cannot be fetched leaves the miss unnamed, not failed
    const broken = withImportedCaches(local, [{ ...imported, fetch: async () => { throw new Error('gone'); } }], { has: async () => false, readBytes: async () => Buffer.alloc(0) });
    await broken.loadListings!(wanted);
    t.regex(createMissExplainer({ cache: broken, parts, listings: () => after }).miss(v, sha('f'))!.reason, /^what it reads from the build context changed/);
  } finally {
    db.close();
    removeDir(root);
  }
});

test('only a build whose every output is a plain gzip push, with no cache export, leaves its target in the cache', (t) => {
  const push = { type: 'image' as const, names: ['reg/app:1'], push: true };
  t.true(outputsTakeCachedLayers([push], []));
  t.true(outputsTakeCachedLayers([push, { ...push, names: ['reg/other:1'], compression: { compression: 'gzip', force: false } }], []));
  t.false(outputsTakeCachedLayers([push, { type: 'image', names: ['app'], push: false }], []));
  t.false(outputsTakeCachedLayers([push, { type: 'oci', dest: '/tmp/x.tar', tar: true, names: [] }], []));
  t.false(outputsTakeCachedLayers([{ ...push, compression: { compression: 'zstd', force: false } }], []));
  t.false(outputsTakeCachedLayers([{ ...push, compression: { compression: 'gzip', force: true } }], []));
  t.false(outputsTakeCachedLayers([{ ...push, ociMediaTypes: false }], []));
  t.false(outputsTakeCachedLayers([push], [{ type: 'inline', mode: 'min', ignoreError: true }]));
  t.false(outputsTakeCachedLayers([], []));
  const gz = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha('1'), size: 5 };
  const raw = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha('2'), size: 50 };
  t.deepEqual(cachedViewLayers([{ diffId: sha('3'), empty: false, blobs: [raw, gz] }]), [{ diffId: sha('3'), digest: gz.digest, size: 5, mediaType: gz.mediaType, empty: false }]);
  t.is(cachedViewLayers([{ diffId: sha('3'), empty: false, blobs: [raw] }]), undefined);
});
