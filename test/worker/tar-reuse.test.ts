// A COPY result's layer tar made from the last result's stored tar (worker/layer/tar-reuse.ts): the
// entries whose name, header fields and inode are the same are copied from it, and the tar is byte
// for byte the one a full walk gives. Anything about the base that does not check (a damaged or
// torn index, a base snapshot or blob that is gone, a blob of another size, a file changed since)
// makes the full walk, never a different tar.
import test from 'ava';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, renameSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { layerTarReusingChunks } from '../../worker/layer/layer-tar.ts';
import { prepareTarReuse, tarBaseName, tarIndexName, type TarReuse, type TarReuseStores } from '../../worker/layer/tar-reuse.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

/** Snapshot names, as the snapshotter makes them (32 hex digits). */
const [one, two, three] = ['1', '2', '3'].map((d) => d.repeat(32));

/** Snapshot dirs and blobs as the stores keep them: `<root>/snapshots/<id>/fs`, `<root>/blobs/<hex>`. */
function storesAt(root: string): TarReuseStores {
  const dir = (id: string) => join(root, 'snapshots', id);
  return {
    snapshots: { dir, diffDir: (id) => join(dir(id), 'fs'), exists: (id) => existsSync(join(dir(id), 'fs')) },
    blobPath: (digest) => join(root, 'blobs', digest.slice('sha256:'.length)),
  };
}

/** Tars snapshot `id` (with `reuse`'s base and index when given); the tar's bytes, and how many entries came from the base. */
async function tarOf(stores: TarReuseStores, id: string, reuse?: TarReuse): Promise<{ bytes: Buffer; fromBase: string[] }> {
  const fromBase: string[] = [];
  const base = reuse?.base && {
    ...reuse.base,
    find(name: string, key: string) {
      const found = reuse.base!.find(name, key);
      if (found) fromBase.push(name);
      return found;
    },
  };
  const parts: Buffer[] = [];
  // the chunks reuse their memory: each is copied before the next is asked for
  for await (const chunk of layerTarReusingChunks(stores.snapshots.diffDir(id), () => {}, { base, index: reuse?.index })) parts.push(Buffer.from(chunk));
  // the direct descriptor may have been closed and cleared while the tar was made
  if (reuse?.base && base) reuse.base.directFd = base.directFd;
  return { bytes: Buffer.concat(parts), fromBase };
}

/** Stores snapshot `id`'s tar as a blob and keeps its index, as layer-blob.ts does for a COPY result. */
async function storeTar(stores: TarReuseStores, id: string): Promise<string> {
  const reuse = prepareTarReuse(stores, id);
  if (!reuse) throw new Error(`${id} is not a COPY result`);
  try {
    const { bytes } = await tarOf(stores, id, reuse);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(stores.blobPath(digest), bytes);
    reuse.save({ digest, size: bytes.length });
    return digest;
  } finally {
    reuse.close();
  }
}

/** Two COPY results: `one`, and `two`, which links most of one's files and changes, adds and drops some. */
function twoResults(root: string): TarReuseStores {
  const stores = storesAt(root);
  mkdirSync(join(root, 'blobs'), { recursive: true });
  const oneFs = stores.snapshots.diffDir(one);
  const twoFs = stores.snapshots.diffDir(two);
  for (const fs of [oneFs, twoFs]) mkdirSync(join(fs, 'app/src'), { recursive: true });
  const files: Record<string, string | Buffer> = {
    'app/src/a.ts': 'export const a = 1;\n',
    'app/src/changed.ts': 'export const v = 1;\n',
    'app/dropped.txt': 'gone next time\n',
    // two MiB and a bit: runs that cross chunks
    'app/big.bin': Buffer.alloc(2 * 1024 * 1024 + 100, 7),
    [`app/${'long-name-'.repeat(12)}.txt`]: 'a name for a PAX header\n',
  };
  for (let i = 0; i < 40; i++) files[`app/src/m${String(i).padStart(2, '0')}.ts`] = `export const m${i} = ${'x'.repeat(i * 50)};\n`;
  for (const [name, content] of Object.entries(files)) writeFileSync(join(oneFs, name), content);
  symlinkSync('src/a.ts', join(oneFs, 'app/link'));
  for (const name of Object.keys(files)) if (name !== 'app/src/changed.ts' && name !== 'app/dropped.txt') linkSync(join(oneFs, name), join(twoFs, name));
  writeFileSync(join(twoFs, 'app/src/changed.ts'), 'export const v = 2;\n');
  writeFileSync(join(twoFs, 'app/src/new.ts'), 'export const n = 1;\n');
  symlinkSync('src/a.ts', join(twoFs, 'app/link'));
  // the times a COPY gives: the same on both sides, the files' from the context
  for (const fs of [oneFs, twoFs]) {
    for (const d of ['app', 'app/src']) utimesSync(join(fs, d), 1_700_000_000, 1_700_000_000);
    utimesSync(join(fs, 'app/src/changed.ts'), 1_700_000_100, 1_700_000_100);
  }
  for (const id of [one, two]) writeFileSync(join(stores.snapshots.dir(id), 'copy-manifest'), 'tsbuild copy manifest v1\n');
  writeFileSync(join(stores.snapshots.dir(two), tarBaseName), `${one}\n`);
  return stores;
}

async function withResults(fn: (stores: TarReuseStores, root: string) => Promise<void>): Promise<void> {
  const root = tempDir('tsbuild-tar-reuse-');
  try {
    await fn(twoResults(root), root);
  } finally {
    removeDir(root);
  }
}

/** `two`'s tar through prepareTarReuse, and its tar from a full walk. */
async function bothTars(stores: TarReuseStores): Promise<{ reused: Awaited<ReturnType<typeof tarOf>>; full: Buffer; hadBase: boolean }> {
  const reuse = prepareTarReuse(stores, two)!;
  try {
    const reused = await tarOf(stores, two, reuse);
    return { reused, full: (await tarOf(stores, two)).bytes, hadBase: reuse.base !== undefined };
  } finally {
    reuse.close();
  }
}

test('unchanged entries come from the last result\'s tar, and the tar is the full walk\'s byte for byte', async (t) => {
  await withResults(async (stores) => {
    await storeTar(stores, one);
    const { reused, full, hadBase } = await bothTars(stores);
    t.true(hadBase);
    t.true(reused.bytes.equals(full), 'the same bytes as a full walk');
    for (const name of ['app/big.bin', 'app/src/a.ts', 'app/src/m39.ts', `app/${'long-name-'.repeat(12)}.txt`, 'app/link', 'app/']) t.true(reused.fromBase.includes(name), `${name} from the base`);
    for (const name of ['app/src/changed.ts', 'app/src/new.ts']) t.false(reused.fromBase.includes(name), `${name} walked`);
  });
});

test('a result made from a base keeps an index the next one can use', async (t) => {
  await withResults(async (stores, root) => {
    await storeTar(stores, one);
    await storeTar(stores, two);
    // three links two's files: its tar may come from two's, which was itself made from one's
    const threeFs = stores.snapshots.diffDir(three);
    mkdirSync(join(threeFs, 'app'), { recursive: true });
    linkSync(join(stores.snapshots.diffDir(two), 'app/big.bin'), join(threeFs, 'app/big.bin'));
    utimesSync(join(threeFs, 'app'), 1_700_000_000, 1_700_000_000);
    writeFileSync(join(stores.snapshots.dir(three), 'copy-manifest'), 'tsbuild copy manifest v1\n');
    writeFileSync(join(stores.snapshots.dir(three), tarBaseName), `${two}\n`);
    const reuse = prepareTarReuse(stores, three)!;
    try {
      const { bytes, fromBase } = await tarOf(stores, three, reuse);
      t.deepEqual(fromBase, ['app/', 'app/big.bin']);
      t.true(bytes.equals((await tarOf(stores, three)).bytes));
    } finally {
      reuse.close();
    }
    t.true(existsSync(join(root, 'snapshots', two, tarIndexName)));
  });
});

test('a file changed since the base was tarred (its mtime) is walked, not copied', async (t) => {
  await withResults(async (stores) => {
    await storeTar(stores, one);
    // a linked file is one inode: the change shows in both snapshots, not in the base's tar
    utimesSync(join(stores.snapshots.diffDir(two), 'app/src/a.ts'), 1_600_000_000, 1_600_000_000);
    const { reused, full } = await bothTars(stores);
    t.false(reused.fromBase.includes('app/src/a.ts'));
    t.true(reused.fromBase.includes('app/big.bin'));
    t.true(reused.bytes.equals(full));
  });
});

test('a damaged index, a torn one, a base snapshot or blob that is gone, or a blob of another size: no base, the same tar', async (t) => {
  const damages: Record<string, (stores: TarReuseStores, digest: string) => void> = {
    'an entry\'s offset changed': (stores) => {
      const path = join(stores.snapshots.dir(one), tarIndexName);
      writeFileSync(path, readFileSync(path, 'utf8').replace(/\t(\d+)\t(\d+)\n/, (_m, off: string, len: string) => `\t${Number(off) + 512}\t${len}\n`));
    },
    'the index cut short': (stores) => {
      const path = join(stores.snapshots.dir(one), tarIndexName);
      truncateSync(path, Math.floor(readFileSync(path).length / 2));
    },
    'the base snapshot removed': (stores) => rmSync(stores.snapshots.diffDir(one), { recursive: true }),
    // a root restored or copied: the same names, other inodes, which the index must not be taken to name
    'the base diff dir a copy of the one indexed': (stores) => {
      const fs = stores.snapshots.diffDir(one);
      renameSync(fs, `${fs}.indexed`);
      execFileSync('cp', ['-a', `${fs}.indexed`, fs]);
    },
    'the base blob removed': (stores, digest) => rmSync(stores.blobPath(digest)),
    'the base blob of another size': (stores, digest) => truncateSync(stores.blobPath(digest), 4096),
    'a tar-base naming a path': (stores) => writeFileSync(join(stores.snapshots.dir(two), tarBaseName), `../${one}\n`),
  };
  for (const [what, damage] of Object.entries(damages)) {
    await withResults(async (stores) => {
      const digest = await storeTar(stores, one);
      const clean = await bothTars(stores);
      damage(stores, digest);
      const { reused, full, hadBase } = await bothTars(stores);
      t.false(hadBase, what);
      t.deepEqual(reused.fromBase, [], what);
      t.true(reused.bytes.equals(full) && full.equals(clean.full), what);
    });
  }
});

test('only a COPY result (one with a copy manifest) keeps an index', async (t) => {
  await withResults(async (stores) => {
    rmSync(join(stores.snapshots.dir(one), 'copy-manifest'));
    t.is(prepareTarReuse(stores, one), undefined);
  });
});
