// The differ each snapshotter supplies: the layer of the same step must be the same tar whichever
// snapshotter ran it, and only a committed snapshot has a layer.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tar from 'tar-stream';
import { newSnapshotKey } from '../../../worker/snapshot/snapshotter.ts';
import { changeBase, kinds, makeBase, sh, withFixture } from './_snapshotters.ts';

// 2020-09-13: a time no test run happens at, so an entry that kept it was set by the step
const stamp = 1600000000;

/** Every header field and a digest of the data, in tar order. */
async function headers(layer: Buffer, opts: { whiteoutTimes: boolean }): Promise<string[]> {
  const out: string[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      const hash = createHash('sha256');
      for await (const c of e) hash.update(c as Buffer);
      const { name, type, mode, uid, gid, size, linkname, devmajor, devminor, mtime, pax } = e.header;
      const whiteout = name.split('/').pop()!.startsWith('.wh.');
      const time = whiteout && !opts.whiteoutTimes ? '-' : String(Math.floor((mtime?.getTime() ?? 0) / 1000));
      out.push(JSON.stringify({ name, type, mode: mode?.toString(8), uid, gid, size, linkname, devmajor, devminor, time, pax, data: hash.digest('hex').slice(0, 12) }));
    }
  })();
  ex.end(layer);
  await done;
  return out;
}

/** One step of every kind of change, every entry it writes stamped with the same mtime. */
function step(r: string): void {
  changeBase(r);
  sh(r, 'ln added/sub/f added/hard && ln -s sub/f added/link && mknod added/dev c 1 5 && mkfifo added/fifo && setfattr -n user.x -v 1 added/sub/f');
  sh(r, 'rm -rf redo && mkdir redo && echo fresh > redo/new');
  sh(r, 'rm suid && mkdir suid && echo in > suid/in');
  sh(r, `touch -h -d @${stamp} etc etc/app etc/app/conf owned added added/sub added/sub/f added/link added/dev added/fifo redo redo/new suid suid/in`);
}

test('every snapshotter makes the layer overlay makes of the same step', async (t) => {
  const layers: Partial<Record<(typeof kinds)[number], { base: string[]; child: string[]; childDigest: string; grandchildDigest: string }>> = {};
  for (const kind of kinds) {
    await withFixture(kind, async ({ s, root, change, layerBytes }) => {
      // the base as an image layer is unpacked (moved into the store), its times those of the image
      const dir = join(root, 'unpacked');
      mkdirSync(join(dir, 'fs'), { recursive: true });
      makeBase(join(dir, 'fs'));
      sh(join(dir, 'fs'), `find . -mindepth 1 -exec touch -h -d @${stamp} {} +`);
      const base = 'a'.repeat(64);
      await s.importDiff(base, undefined, dir);
      const child = await change(base, step);
      const bytes = await layerBytes(child);
      // a step that deletes nothing has no whiteouts whose times could differ: the same bytes
      const grandchild = await change(child, (r) => sh(r, `echo g > added/sub/g && mkdir -p more/x && chmod 700 etc && touch -h -d @${stamp} added added/sub added/sub/g more more/x etc`));
      layers[kind] = {
        base: await headers(await layerBytes(base), { whiteoutTimes: true }),
        child: await headers(bytes, { whiteoutTimes: false }),
        childDigest: createHash('sha256').update(bytes).digest('hex'),
        grandchildDigest: createHash('sha256').update(await layerBytes(grandchild)).digest('hex'),
      };
    });
  }
  const { overlay, ...others } = layers as Required<typeof layers>;
  t.true(overlay.child.some((h) => h.includes('"name":".wh.gone"')), 'the step deletes');
  t.true(overlay.child.some((h) => h.includes('"name":"redo/.wh..wh..opq"')) && overlay.child.some((h) => h.includes('"name":"suid/.wh..wh..opq"')), 'a directory made again, or made where a file was, is opaque');
  for (const [kind, made] of Object.entries(others)) {
    t.deepEqual(made.base, overlay.base, `${kind}: the unpacked base`);
    // whiteouts carry the time each snapshotter made them: overlay's when the step deleted, copy's at commit
    t.deepEqual(made.child, overlay.child, `${kind}: the step's layer`);
    t.is(made.grandchildDigest, overlay.grandchildDigest, `${kind}: a layer without whiteouts, byte for byte`);
    t.log(`${kind}: ${made.child.length} entries, as overlay; sha256 ${made.childDigest.slice(0, 12)} (overlay ${overlay.childDigest.slice(0, 12)})`);
  }
  t.is(Object.keys(others).length, kinds.length - 1);
});

for (const kind of kinds) {
  test(`${kind}: only a committed snapshot has a layer: an active key or an unknown name is not-found`, (t) =>
    withFixture(kind, async ({ s, change, layer }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      t.deepEqual((await layer(base)).map((e) => e.name), ['a']);
      const key = newSnapshotKey();
      await s.prepare(key, base);
      for (const name of [key, 'f'.repeat(32)]) {
        const e = t.throws(() => s.differ.layerTar(name));
        t.like(e, { code: 'STATE_ERROR', kind: 'not-found', message: `snapshot ${name} is not committed: it has no layer` });
      }
      await s.remove(key);
    }));
}
