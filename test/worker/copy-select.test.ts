import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, lstatSync, readFileSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { pivotOf } from '../../worker/file/copy.ts';
import { deviceNumbers } from '../../worker/layer/layer-tar.ts';
import { copy, fsOf, withCopy } from './_copy.ts';

test('.dockerignore applies below a copied directory, and ! exceptions re-include inside excluded dirs', (t) =>
  withCopy({ 'src/a.c': 'A', 'src/node_modules/m.js': 'M', 'src/build/out.o': 'O', 'src/build/keep.txt': 'K', 'src/tmp/x': 'X' }, async (w, _ctx, apply) => {
    const id = await apply([copy(['/src'], '/app/'), copy(['/'], '/all/')], ['**/node_modules', 'src/build', '!src/build/keep.txt', 'src/tmp']);
    t.is(readFileSync(fsOf(w, id, 'app/a.c'), 'utf8'), 'A');
    t.false(existsSync(fsOf(w, id, 'app/node_modules')));
    t.false(existsSync(fsOf(w, id, 'app/build/out.o')));
    t.is(readFileSync(fsOf(w, id, 'app/build/keep.txt'), 'utf8'), 'K');
    t.false(existsSync(fsOf(w, id, 'app/tmp')), 'an excluded dir with nothing re-included is not made');
    t.true(existsSync(fsOf(w, id, 'all/src/build/keep.txt')));
    t.false(existsSync(fsOf(w, id, 'all/src/tmp')));
  }));

test('COPY --exclude matches paths relative to each source, and a wildcard match by its name', (t) =>
  withCopy({ 'home.txt': 'H', 'homer.md': 'M', 'homedir/a.txt': 'a', 'homedir/b.md': 'b', 'homedir/sub/c.txt': 'c', 'other/x.txt': 'x' }, async (w, _ctx, apply) => {
    const id = await apply([copy(['/hom*'], '/mydir/', { excludePatterns: ['*.txt'] }), copy(['/homedir'], '/d/', { excludePatterns: ['**/*.txt', 'sub'] })]);
    t.false(existsSync(fsOf(w, id, 'mydir/home.txt')));
    t.true(existsSync(fsOf(w, id, 'mydir/homer.md')));
    // a directory source copies its contents, and its excludes are relative to it
    t.false(existsSync(fsOf(w, id, 'mydir/a.txt')), 'a.txt is relative to the homedir source');
    t.true(existsSync(fsOf(w, id, 'mydir/b.md')));
    t.true(existsSync(fsOf(w, id, 'mydir/sub/c.txt')), '*.txt matches one level only');
    t.true(existsSync(fsOf(w, id, 'd/b.md')));
    t.false(existsSync(fsOf(w, id, 'd/a.txt')));
    t.false(existsSync(fsOf(w, id, 'd/sub')));
  }));

test('COPY --parents keeps paths below the context root or the /./ pivot', (t) =>
  withCopy({ 'x/a.txt': 'xa', 'y/a.txt': 'ya', 'x/sub/deep/b.txt': 'b', 'z/dir/f': 'f' }, async (w, ctx, apply) => {
    chmodSync(join(ctx, 'x/sub'), 0o750);
    utimesSync(join(ctx, 'x/sub'), 1_000_000, 1_000_000);
    const id = await apply([
      copy(['/x/a.txt', '/y/a.txt'], '/parents/', { parents: true }),
      copy(['/x/./sub/deep/*.txt'], '/pivot/', { parents: true }),
      copy(['/z/dir'], '/dirs/', { parents: true }),
      copy(['/x/a.txt', '/y/a.txt'], '/flat/'),
    ]);
    t.is(readFileSync(fsOf(w, id, 'parents/x/a.txt'), 'utf8'), 'xa');
    t.is(readFileSync(fsOf(w, id, 'parents/y/a.txt'), 'utf8'), 'ya');
    t.is(readFileSync(fsOf(w, id, 'pivot/sub/deep/b.txt'), 'utf8'), 'b');
    const sub = lstatSync(fsOf(w, id, 'pivot/sub'));
    t.deepEqual([sub.mode & 0o777, sub.mtimeMs], [0o750, 1_000_000_000], 'a kept parent dir mirrors its source');
    t.is(readFileSync(fsOf(w, id, 'dirs/z/dir/f'), 'utf8'), 'f');
    t.is(readFileSync(fsOf(w, id, 'flat/a.txt'), 'utf8'), 'ya');
    t.is(pivotOf('x/./y/*.txt'), 'x');
    t.is(pivotOf('./y'), '');
    t.is(pivotOf('/a/b'), '');
  }));

test('a directory copied into an existing one keeps the target dir\'s own owner and mode, as BuildKit', (t) =>
  withCopy({ 'conf/a': 'A', 'conf/sub/b': 'B' }, async (w, ctx, apply) => {
    chmodSync(join(ctx, 'conf'), 0o700);
    chmodSync(join(ctx, 'conf/sub'), 0o711);
    const base = await apply([{ action: 'mkdir', path: '/etc/app/sub', mode: 0o755, makeParents: true, chown: { user: 'app' } }]);
    const id = await w.worker.run({ kind: 'file', base: 0, actions: [copy(['/conf'], '/etc/app')] }, [{ type: 'snapshot', id: base }, { type: 'local', dir: ctx, excludePatterns: [] }], w.ctx);
    const top = lstatSync(fsOf(w, id, 'etc/app'));
    t.deepEqual([top.mode & 0o777, top.uid], [0o755, 1000]);
    t.is(readFileSync(fsOf(w, id, 'etc/app/a'), 'utf8'), 'A');
    // a subdirectory that exists is overwritten with the source's metadata (fsutil: overwriteTargetMetadata below the top)
    const sub = lstatSync(fsOf(w, id, 'etc/app/sub'));
    t.deepEqual([sub.mode & 0o777, sub.uid], [0o711, 0]);
  }));

test('several files onto a dest without a slash: each overwrites it unless it is a directory by then, as BuildKit', (t) =>
  withCopy({ 'd/f1': '1', 'd/f2': '2', 'd/sub/a': 'a' }, async (w, _ctx, apply) => {
    const id = await apply([copy(['/d/f*'], '/fstar'), copy(['/d/f1', '/d/f2'], '/fmulti'), copy(['/d/sub', '/d/f1'], '/mixed'), copy(['/d/f*'], '/slash/')]);
    t.is(readFileSync(fsOf(w, id, 'fstar'), 'utf8'), '2');
    t.is(readFileSync(fsOf(w, id, 'fmulti'), 'utf8'), '2');
    t.is(readFileSync(fsOf(w, id, 'mixed/a'), 'utf8'), 'a');
    t.is(readFileSync(fsOf(w, id, 'mixed/f1'), 'utf8'), '1', 'the directory the first source made takes the second');
    t.is(readFileSync(fsOf(w, id, 'slash/f1'), 'utf8'), '1');
  }));

test('FIFOs and device nodes are copied as nodes with their numbers, mode and owner, as fsutil copyDevice (issue 13)', (t) =>
  withCopy({ 'keep.txt': 'k' }, async (w, ctx, apply) => {
    execFileSync('mkfifo', ['-m', '0640', join(ctx, 'fifo')]);
    execFileSync('mknod', ['-m', '0600', join(ctx, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [join(ctx, 'loop'), 'b', '7', '200']);
    lchownSync(join(ctx, 'fifo'), 1000, 50);
    const id = await apply([copy(['/'], '/sp/')]);
    const fifo = lstatSync(fsOf(w, id, 'sp/fifo'));
    t.true(fifo.isFIFO());
    t.is(fifo.mode & 0o7777, 0o640);
    const nul = lstatSync(fsOf(w, id, 'sp/null'));
    t.true(nul.isCharacterDevice());
    t.is(nul.mode & 0o7777, 0o600);
    t.deepEqual(deviceNumbers(nul.rdev), { major: 1, minor: 3 });
    const loop = lstatSync(fsOf(w, id, 'sp/loop'));
    t.true(loop.isBlockDevice());
    t.deepEqual(deviceNumbers(loop.rdev), { major: 7, minor: 200 });
  }));

test('a dest that is a symlink is written through (the link stays), links below a copied tree are replaced, as fsutil Copy (issue 13)', (t) =>
  withCopy({ 'a.txt': 'A', 'links/target/file': 'old', 'tree/m': 'replaced' }, async (w, ctx, apply) => {
    symlinkSync('/target/file', join(ctx, 'links/l'));
    symlinkSync('/target/file', join(ctx, 'links/m'));
    symlinkSync('target', join(ctx, 'links/dirlink'));
    const id = await apply([copy(['/links'], '/'), copy(['/a.txt'], '/l'), copy(['/a.txt'], '/dirlink'), copy(['/tree'], '/')]);
    t.false(lstatSync(fsOf(w, id, 'm')).isSymbolicLink(), 'a link met below the dest is replaced');
    t.is(readFileSync(fsOf(w, id, 'm'), 'utf8'), 'replaced');
    t.true(lstatSync(fsOf(w, id, 'l')).isSymbolicLink(), 'the link is still a link');
    t.is(readFileSync(fsOf(w, id, 'target/file'), 'utf8'), 'A', 'its target got the content');
    t.is(readFileSync(fsOf(w, id, 'target/a.txt'), 'utf8'), 'A', 'a link to a directory is copied into');
    t.true(lstatSync(fsOf(w, id, 'dirlink')).isSymbolicLink());
  }));
