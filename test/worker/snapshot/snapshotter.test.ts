// One suite for the Snapshotter contract, run against every implementation: what a user would
// see through the mounts (files, owners, modes, links, devices, xattrs) and the layer each commit
// makes, which must be the same whichever snapshotter made it. (The differ has differ.test.ts, the
// lifecycle helper with-active-snapshot.test.ts, both on every implementation too.)
import test from 'ava';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withMounts } from '../../../worker/snapshot/mount.ts';
import { newSnapshotKey } from '../../../worker/snapshot/snapshotter.ts';
import { changeBase, kinds, listing, makeBase, sh, withFixture } from './_snapshotters.ts';

for (const kind of kinds) {
  test(`${kind}: prepare, commit, stat, chain, walk, usage and remove keep their contract`, (t) =>
    withFixture(kind, async ({ s, change, root }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      const key = newSnapshotKey();
      await s.prepare(key, base);
      t.like(s.stat(key), { kind: 'active', parent: base });
      t.false(s.exists(key));
      await t.throwsAsync(s.prepare(key, base), { message: /already in use/ });
      await s.commit(key, key);
      t.like(s.stat(key), { kind: 'committed', parent: base });
      await t.throwsAsync(s.commit(key, key), { message: /not an active snapshot/ });
      t.deepEqual(s.chain(key), [base, key]);
      t.true(s.exists(key));
      t.deepEqual(s.walk().map((i) => i.name).sort(), [base, key].sort());
      t.true((await s.usage(base)).inodes >= 2);
      t.throws(() => s.chain('f'.repeat(32)), { message: /is not committed/ });
      await s.remove(key);
      t.is(s.stat(key), undefined);
      t.false(existsSync(join(root, 'snapshots', key)));
    }));

  test(`${kind}: a child sees its parent's owners, modes, links, devices and xattrs`, (t) =>
    withFixture(kind, async ({ change, look }) => {
      const base = await change(undefined, makeBase);
      const child = await change(base, (r) => writeFileSync(join(r, 'new'), 'n'));
      await look(child, (r) => {
        t.is(readFileSync(join(r, 'etc/app/conf'), 'utf8'), 'v1');
        t.is(lstatSync(join(r, 'suid')).mode & 0o7777, 0o4755);
        t.like(lstatSync(join(r, 'owned')), { uid: 1000, gid: 1001 });
        t.is(lstatSync(join(r, 'hard')).ino, lstatSync(join(r, 'etc/keep')).ino, 'hard links stay linked');
        t.true(lstatSync(join(r, 'sym')).isSymbolicLink());
        t.true(lstatSync(join(r, 'null')).isCharacterDevice());
        t.is(lstatSync(join(r, 'null')).rdev, (1 << 8) | 3, 'char 1:3');
        t.true(lstatSync(join(r, 'fifo')).isFIFO());
        t.regex(sh(r, 'getfattr -n user.note --only-values owned'), /^hi$/);
        t.regex(sh(r, 'getfattr -e hex -n security.capability suid'), /security.capability=0x/);
        t.is(readFileSync(join(r, 'new'), 'utf8'), 'n');
      });
    }));

  test(`${kind}: each commit's layer holds exactly what changed, deletions as whiteouts`, (t) =>
    withFixture(kind, async ({ change, layer, look }) => {
      const base = await change(undefined, makeBase);
      t.deepEqual(listing(await layer(base)).length, 15);
      const child = await change(base, (r) => {
        changeBase(r);
        sh(r, 'cat etc/keep > /dev/null');
      });
      t.deepEqual(listing(await layer(child)), [
        '.wh.gone file 644 0:0',
        '.wh.sym file 644 0:0',
        'added/ directory 755 0:0',
        'added/sub/ directory 755 0:0',
        'added/sub/f file 644 0:0 "new"',
        'etc/ directory 755 0:0',
        'etc/app/ directory 755 0:0',
        'etc/app/conf file 644 0:0 "v2"',
        'owned file 600 1000:1001 "o"',
      ]);
      await look(child, (r) => {
        t.false(existsSync(join(r, 'gone')));
        t.false(existsSync(join(r, 'sym')));
        t.is(readFileSync(join(r, 'etc/keep'), 'utf8'), 'keep');
      });
      const empty = await change(child, (r) => void readdirSync(r));
      t.deepEqual(await layer(empty), [], 'a step that only reads makes an empty layer');
    }));

  test(`${kind}: a directory removed and made again hides what it held`, (t) =>
    withFixture(kind, async ({ change, look }) => {
      const base = await change(undefined, makeBase);
      const child = await change(base, (r) => sh(r, 'rm -rf redo && mkdir redo && echo fresh > redo/new'));
      const grandchild = await change(child, (r) => writeFileSync(join(r, 'redo/more'), 'm'));
      t.deepEqual(await look(grandchild, (r) => readdirSync(join(r, 'redo')).sort()), ['more', 'new']);
    }));

  test(`${kind}: a layer unpacked into the store with whiteouts and an opaque dir reads as overlay shows it`, (t) =>
    withFixture(kind, async ({ s, change, look, root }) => {
      const base = await change(undefined, makeBase);
      const dir = join(root, 'unpacked');
      mkdirSync(join(dir, 'fs/redo'), { recursive: true });
      writeFileSync(join(dir, 'fs/redo/only'), 'o');
      sh(join(dir, 'fs'), 'setfattr -n trusted.overlay.opaque -v y redo && mknod gone c 0 0 && mknod owned c 0 0 && mkdir owned2 && ln -s x suid');
      const name = 'a'.repeat(64);
      await s.importDiff(name, base, dir);
      const child = await change(name, (r) => writeFileSync(join(r, 'after'), 'a'));
      await look(child, (r) => {
        t.deepEqual(readdirSync(join(r, 'redo')), ['only']);
        t.false(existsSync(join(r, 'gone')));
        t.false(existsSync(join(r, 'owned')));
        t.is(lstatSync(join(r, 'suid')).isSymbolicLink(), true);
        t.is(readFileSync(join(r, 'after'), 'utf8'), 'a');
        t.regex(sh(r, 'getfattr -d -m - redo || true'), /^$/, 'no overlay marker shows in the view');
      });
    }));

  test(`${kind}: a read-only view refuses writes and leaves the snapshot as it was`, (t) =>
    withFixture(kind, async ({ s, change, root }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      for (const parent of [base, undefined]) {
        const key = newSnapshotKey();
        const target = join(root, 'tmp', `ro-${key}`);
        mkdirSync(target);
        await withMounts(await s.view(key, parent, { readonly: true }), target, async (r) => {
          t.throws(() => writeFileSync(join(r, 'b'), 'b'), { code: 'EROFS' });
          t.deepEqual(readdirSync(r), parent ? ['a'] : []);
        });
        await s.remove(key);
      }
      const key = newSnapshotKey();
      await withMounts(await s.prepare(key, base), mkdtempSync(join(root, 'tmp', 'w-')), async (r) => t.is(readFileSync(join(r, 'a'), 'utf8'), 'a'));
      await s.remove(key);
      t.true(s.exists(base));
    }));

  test(`${kind}: a view's changes are thrown away and it cannot be committed`, (t) =>
    withFixture(kind, async ({ s, change, look, root }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      await look(base, (r) => writeFileSync(join(r, 'a'), 'changed'));
      t.is(await look(base, (r) => readFileSync(join(r, 'a'), 'utf8')), 'a');
      const key = newSnapshotKey();
      await s.view(key, base);
      await t.throwsAsync(s.commit(key, key), { message: /is a view/ });
      await s.remove(key);
      t.deepEqual(readdirSync(join(root, 'tmp')).filter((n) => n.startsWith('view-')), []);
    }));

  test(`${kind}: committing a name that exists already is success, and the first content stays`, (t) =>
    withFixture(kind, async ({ s, change, look, mountDir, root }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      const name = newSnapshotKey();
      for (const content of ['first', 'second']) {
        const key = newSnapshotKey();
        await withMounts(await s.prepare(key, base), await mountDir(), async (r) => writeFileSync(join(r, 'b'), content));
        await s.commit(name, key);
        t.is(s.stat(key), undefined, 'the active key is gone once committed');
      }
      t.like(s.stat(name), { kind: 'committed', parent: base });
      t.is(await look(name, (r) => readFileSync(join(r, 'b'), 'utf8')), 'first');
      t.deepEqual(s.walk().map((i) => i.name).sort(), [base, name].sort());
      t.deepEqual(readdirSync(join(root, 'snapshots')).filter((n) => !n.startsWith('.')).sort(), [base, name].sort(), 'the second copy is not kept');
    }));

  test(`${kind}: an active snapshot is listed and measured, and removing it after a failed run leaves nothing`, (t) =>
    withFixture(kind, async ({ s, change, mountDir, mountsUnder, root }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      const key = newSnapshotKey();
      const failed = withMounts(await s.prepare(key, base), await mountDir(), async (r) => {
        writeFileSync(join(r, 'half'), Buffer.alloc(256 * 1024, 1));
        throw new Error('process "make" did not complete successfully: exit code: 2');
      });
      await t.throwsAsync(failed, { message: /exit code: 2/ });
      t.like(s.stat(key), { kind: 'active', parent: base });
      t.deepEqual(s.walk().filter((i) => i.kind === 'active').map((i) => i.name), [key]);
      t.true((await s.usage(key)).size >= 256 * 1024, 'usage counts what the run wrote');
      await s.remove(key);
      t.is(s.stat(key), undefined);
      t.deepEqual(s.walk().map((i) => i.name), [base]);
      t.false(existsSync(join(root, 'snapshots', key)));
      t.deepEqual(mountsUnder(), []);
      await s.remove(key); // missing is fine
      t.true(s.exists(base), 'the parent is untouched');
    }));

  test(`${kind}: a parent that is not committed (unknown, or still active) is a not-found error that leaves nothing`, (t) =>
    withFixture(kind, async ({ s, change, root, tmp }) => {
      const base = await change(undefined, (r) => writeFileSync(join(r, 'a'), 'a'));
      const active = newSnapshotKey();
      await s.prepare(active, base);
      const ways = {
        prepare: (key: string, parent: string) => s.prepare(key, parent),
        view: (key: string, parent: string) => s.view(key, parent),
        'read-only view': (key: string, parent: string) => s.view(key, parent, { readonly: true }),
      };
      for (const parent of ['f'.repeat(32), active]) {
        for (const [way, make] of Object.entries(ways)) {
          const key = newSnapshotKey();
          const e = await t.throwsAsync(make(key, parent), undefined, `${way} on ${parent === active ? 'an active key' : 'an unknown name'}`);
          t.like(e, { code: 'STATE_ERROR', kind: 'not-found', message: `snapshot ${parent} is not committed` });
          t.is(s.stat(key), undefined);
        }
      }
      const diff = join(root, 'unpacked');
      mkdirSync(join(diff, 'fs'), { recursive: true });
      for (const parent of ['f'.repeat(32), active]) {
        const e = await t.throwsAsync(s.importDiff('d'.repeat(64), parent, diff), undefined, `import on ${parent === active ? 'an active key' : 'an unknown name'}`);
        t.like(e, { code: 'STATE_ERROR', kind: 'not-found', message: `snapshot ${parent} is not committed` });
        t.is(s.stat('d'.repeat(64)), undefined);
      }
      await s.remove(active);
      t.deepEqual(readdirSync(tmp), []);
      t.deepEqual(readdirSync(join(root, 'snapshots')).filter((n) => !n.startsWith('.')), [base]);
    }));

  test(`${kind}: a chain of 127 snapshots with long names mounts (the kernel's one-page option limit)`, (t) =>
    withFixture(kind, async ({ s, change, look, root }) => {
      let parent: string | undefined;
      for (let i = 0; i < 127; i++) {
        const dir = join(root, `u${i}`);
        mkdirSync(join(dir, 'fs'), { recursive: true });
        writeFileSync(join(dir, 'fs', `f${i}`), String(i));
        // image layers are named by their 64-hex chainID, the longest names there are
        const name = i.toString(16).padStart(64, 'c');
        await s.importDiff(name, parent, dir);
        parent = name;
      }
      const top = await change(parent, (r) => writeFileSync(join(r, 'top'), 'top'));
      const seen = await look(top, (r) => readdirSync(r).filter((n) => n.startsWith('f')).length);
      t.is(seen, 127);
      t.deepEqual(readdirSync(join(root, 'mnt')).filter((n) => n.startsWith('.links-')), [], 'the short links are gone after mounting');
    }));
}

test('copy: markers in OCI form (where the filesystem refuses overlay\'s) read as overlay form does', (t) =>
  withFixture('copy', async ({ s, change, look, root }) => {
    const base = await change(undefined, makeBase);
    const dir = join(root, 'unpacked');
    mkdirSync(join(dir, 'fs/redo'), { recursive: true });
    writeFileSync(join(dir, 'fs/redo/only'), 'o');
    for (const marker of ['redo/.wh..wh..opq', '.wh.gone', '.wh.owned', '.wh..', '.wh...']) writeFileSync(join(dir, 'fs', marker), '');
    const name = 'b'.repeat(64);
    await s.importDiff(name, base, dir);
    await look(name, (r) => {
      t.deepEqual(readdirSync(join(r, 'redo')), ['only']);
      t.false(existsSync(join(r, 'gone')));
      t.false(existsSync(join(r, 'owned')));
      t.true(existsSync(join(r, 'etc/keep')), 'a whiteout of "." or ".." hides nothing');
      t.deepEqual(readdirSync(r).filter((n) => n.startsWith('.wh.')), []);
    });
  }));
