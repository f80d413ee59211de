// Issue 9 "one file changed": a COPY from a build context whose last build made a snapshot links
// the files it would write unchanged from that snapshot and copies the rest. What a user and the
// store must see: the image is the one a full copy gives (same files, same layer diffID), the
// earlier image's files never change (not by a later RUN that writes to a linked file, not by
// pruning the new one), a changed mode or mtime is copied, --chown/--chmod land as asked, and du
// counts a linked file once.
import test from 'ava';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveBuildOptions, type BuildResult, type Engine } from '../../control/index.ts';
import { build, duSb, noGc, quiet, withBusyboxRoot, withEngine } from '../_support/engine.ts';
import { buildBusybox, contextDir, removeDir, tempDir } from '../_support/tsbuild.ts';

/** A source file is recorded for reuse only once it is older than the clock's granularity allows to tell apart (2 s). */
const settle = () => sleep(2100);

const snapshotNames = (root: string) => new Set(readdirSync(join(root, 'snapshots')).filter((n) => /^[0-9a-f]+$/.test(n)));
const fsOf = (root: string, name: string) => join(root, 'snapshots', name, 'fs');

/** The snapshot a build made whose fs holds `marker` (the COPY's result, not the RUN's). */
function madeSince(root: string, before: Set<string>, marker: string): string {
  const made = [...snapshotNames(root)].filter((n) => !before.has(n) && existsSync(join(fsOf(root, n), marker)));
  if (made.length !== 1) throw new Error(`expected one new snapshot holding ${marker}, found ${made.length}`);
  return fsOf(root, made[0]);
}

/**
 * Builds `ctx` as `tag` on `root` and finds, for each marker, the one snapshot that build made
 * holding it (madeSince).
 */
async function buildFinding(engine: Engine, root: string, ctx: string, tag: string, markers: string[], opts: { noCache?: boolean } = {}): Promise<{ result: BuildResult; dirs: string[] }> {
  const before = snapshotNames(root);
  const result = await engine.build(resolveBuildOptions({ context: ctx, tags: [tag], noCache: opts.noCache }), { progress: quiet });
  return { result, dirs: markers.map((m) => madeSince(root, before, m)) };
}

/** buildFinding for the one snapshot holding `marker`. */
async function buildFound(engine: Engine, root: string, ctx: string, tag: string, marker: string): Promise<string> {
  return (await buildFinding(engine, root, ctx, tag, [marker])).dirs[0];
}

/** Every entry below `dir`: type, mode, owner, mtime, size and content digest, by path. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const s = lstatSync(join(dir, path));
      const content = s.isFile() ? createHash('sha256').update(readFileSync(join(dir, path))).digest('hex') : '';
      out[path] = `${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.mtimeMs} ${s.size} ${content}`;
      if (s.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

/** Regular files below `dir` by path → inode. */
function inodes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const s = lstatSync(join(dir, path));
      if (s.isDirectory()) walk(path);
      else if (s.isFile()) out.set(path, s.ino);
    }
  };
  walk('');
  return out;
}

/** Paths of `b` that are the same inode as in `a`. */
const shared = (a: Map<string, number>, b: Map<string, number>) => [...b].filter(([p, ino]) => a.get(p) === ino).map(([p]) => p).sort();

const diffIds = (root: string, tag: string): string[] =>
  (JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${join(root, 'content')}:${tag}:latest`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;

/** Moves `tag` to plain busybox and prunes: what only that tag held goes. */
async function retagAndPrune(engine: Engine, tag: string): Promise<void> {
  const plain = contextDir({ Dockerfile: 'FROM busybox\n' });
  try {
    await build(engine, plain, [tag]);
  } finally {
    removeDir(plain);
  }
  await engine.prune({});
}

function project(dockerfile: string): string {
  const files: Record<string, string | { content: string; mode: number }> = {
    Dockerfile: dockerfile,
    'src/a.txt': 'a first\n',
    'src/b.txt': 'b\n',
    'src/c/d.txt': 'd\n',
    'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  };
  for (let i = 0; i < 30; i++) files[`many/f${i}.txt`] = `file ${i}\n`.repeat(i + 1);
  const dir = contextDir(files);
  // 3 MB that must be counted once however many snapshots link it
  writeFileSync(join(dir, 'many/big.bin'), createHash('sha256').update('big').digest().toString('hex').repeat(48 * 1024));
  return dir;
}

test('a one-file change links the rest: the files and layer diffID of a full copy, earlier snapshots untouched by a RUN writing a linked file and by prune, du counts links once', async (t) => {
  const other = tempDir('tsbuild-root-');
  // the RUN copies the changed file too: its layer then differs between the two builds whatever their
  // timing (an identical RUN layer would share its blob with image one and rightly be kept by prune)
  const ctx = project('FROM busybox\nCOPY . /\nRUN chmod 600 /src/b.txt && echo more >> /src/b.txt && echo new > /many/f3.txt && cp /src/a.txt /seen-a\n');
  await withBusyboxRoot([other, ctx], async (root) => {
    await buildBusybox(other);
    await settle();
    await withEngine(root, async (engine) => {
      const one = await buildFound(engine, root, ctx, 'one', 'src/a.txt');
      const oneFiles = fingerprint(one);
      const all = new Map([...snapshotNames(root)].map((n) => [n, fingerprint(fsOf(root, n))]));

      writeFileSync(join(ctx, 'src/a.txt'), 'a second\n');
      const { result: two, dirs: [twoDir] } = await buildFinding(engine, root, ctx, 'two', ['src/a.txt']);
      t.is(two.ran, 2, 'COPY and RUN ran');
      const linked = shared(inodes(one), inodes(twoDir));
      t.deepEqual(linked, [...inodes(one).keys()].filter((p) => p !== 'src/a.txt').sort(), 'every file but the changed one is linked');
      t.is(readFileSync(join(twoDir, 'src/a.txt'), 'utf8'), 'a second\n');
      t.is(readFileSync(join(twoDir, 'src/b.txt'), 'utf8'), 'b\n', 'the RUN wrote its own copy of b.txt');
      t.is(lstatSync(join(twoDir, 'src/b.txt')).mode & 0o7777, 0o644);

      // every snapshot there was before is as it was: the RUN's chmod and appends went to copies
      for (const [name, files] of all) t.deepEqual(fingerprint(fsOf(root, name)), files, `snapshot ${name}`);

      // du counts each linked inode once, as du -sb does
      const du = (await engine.du()).total;
      const measured = duSb(root);
      t.true(Math.abs(du - measured) <= measured * 0.05, `du says ${du}, du -sb ${measured}`);

      // a full copy (on a root of its own, where nothing is linked) gives the same files and the same COPY layer
      await withEngine(other, async (fresh) => {
        const fullDir = await buildFound(fresh, other, ctx, 'full', 'src/a.txt');
        t.deepEqual(fingerprint(fullDir), fingerprint(twoDir));
        t.true([...inodes(fullDir).keys()].every((p) => lstatSync(join(fullDir, p)).nlink === 1));
      });
      // two's layer tar was made from one's stored tar (worker/layer/tar-reuse.ts): each names what it needs
      t.is(readFileSync(join(dirname(twoDir), 'tar-base'), 'utf8'), `${basename(dirname(one))}\n`);
      t.true(existsSync(join(dirname(one), 'tar-index')) && existsSync(join(dirname(twoDir), 'tar-index')));
      const [idsTwo, idsFull] = [diffIds(root, 'two'), diffIds(other, 'full')];
      t.is(idsTwo.at(-2), idsFull.at(-2), 'the COPY layer of the linked snapshot is the full copy\'s');

      // pruning the new image leaves the first one's files whole
      await retagAndPrune(engine, 'two');
      t.false(existsSync(twoDir), 'the untagged snapshot was pruned');
      t.deepEqual(fingerprint(one), oneFiles);

      // and the other way round: a new one links from the first, the first is pruned, the new one stays whole
      writeFileSync(join(ctx, 'src/c/d.txt'), 'd changed\n');
      const three = await buildFound(engine, root, ctx, 'three', 'src/a.txt');
      t.true(shared(inodes(one), inodes(three)).length > 30);
      const threeFiles = fingerprint(three);
      await retagAndPrune(engine, 'one');
      t.false(existsSync(one), 'the first snapshot was pruned');
      t.deepEqual(fingerprint(three), threeFiles);
      t.is(readFileSync(join(three, 'many/f3.txt'), 'utf8'), 'file 3\n'.repeat(4));
    });
  });
});

test('a changed mode or mtime is copied, not linked; --chown and --chmod land on linked and copied files alike', async (t) => {
  const ctx = project('FROM busybox\nCOPY --chown=1000:1000 --chmod=640 many/ /opt/\nCOPY src/ /app/\n');
  await withBusyboxRoot([ctx], async (root) => {
    await settle();
    await withEngine(root, async (engine) => {
      const { dirs: [opt1, app1] } = await buildFinding(engine, root, ctx, 'one', ['opt/f1.txt', 'app/a.txt']);

      writeFileSync(join(ctx, 'many/f0.txt'), 'changed\n');
      chmodSync(join(ctx, 'src/a.txt'), 0o600);
      utimesSync(join(ctx, 'src/b.txt'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
      const { dirs: [opt2, app2] } = await buildFinding(engine, root, ctx, 'two', ['opt/f1.txt', 'app/a.txt']);
      const optLinked = shared(inodes(opt1), inodes(opt2));
      t.false(optLinked.includes('opt/f0.txt'));
      t.true(optLinked.includes('opt/f1.txt') && optLinked.includes('opt/big.bin'));
      for (const f of ['f0.txt', 'f1.txt', 'big.bin']) {
        const s = lstatSync(join(opt2, 'opt', f));
        t.deepEqual([s.uid, s.gid, s.mode & 0o7777], [1000, 1000, 0o640], f);
      }
      t.deepEqual(shared(inodes(app1), inodes(app2)), ['app/c/d.txt'], 'the files whose mode or mtime changed were copied');
      t.is(lstatSync(join(app2, 'app/a.txt')).mode & 0o7777, 0o600);
      t.is(lstatSync(join(app2, 'app/b.txt')).mtime.toISOString(), '2020-01-02T03:04:05.000Z');
      t.is(lstatSync(join(app1, 'app/a.txt')).mode & 0o7777, 0o644, 'the first image keeps its mode');

      // another owner is another step: nothing is linked, everything has the new owner
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --chown=2000:2000 --chmod=640 many/ /opt/\nCOPY src/ /app/\n');
      const opt3 = await buildFound(engine, root, ctx, 'three', 'opt/f1.txt');
      t.deepEqual(shared(inodes(opt2), inodes(opt3)), []);
      t.deepEqual(shared(inodes(opt1), inodes(opt3)), []);
      t.is(lstatSync(join(opt3, 'opt/f1.txt')).uid, 2000);
      t.is(lstatSync(join(opt2, 'opt/f1.txt')).uid, 1000, 'the earlier image keeps its owner');

      // --no-cache makes every file itself (without it, all but f2.txt would be linked from three)
      writeFileSync(join(ctx, 'many/f2.txt'), 'changed\n');
      const { dirs: [opt4] } = await buildFinding(engine, root, ctx, 'four', ['opt/f1.txt'], { noCache: true });
      t.deepEqual(shared(inodes(opt3), inodes(opt4)), [], '--no-cache links nothing');
    });
  });
});

test('on the copying snapshotter nothing is linked, and a RUN writing the copied files leaves the earlier snapshot whole', async (t) => {
  const ctx = project('FROM busybox\nCOPY . /\nRUN chmod 600 /src/b.txt && echo more >> /src/b.txt\n');
  await withBusyboxRoot([ctx], async (root) => {
    await settle();
    await withEngine(root, async (engine) => {
      const one = await buildFound(engine, root, ctx, 'one', 'src/a.txt');
      const oneFiles = fingerprint(one);
      writeFileSync(join(ctx, 'src/a.txt'), 'a second\n');
      const two = await buildFound(engine, root, ctx, 'two', 'src/a.txt');
      t.deepEqual(shared(inodes(one), inodes(two)), []);
      t.deepEqual(fingerprint(one), oneFiles);
      t.is(readFileSync(join(two, 'src/b.txt'), 'utf8'), 'b\n');
    }, { config: noGc, worker: { snapshotter: 'copy' } });
  });
});
