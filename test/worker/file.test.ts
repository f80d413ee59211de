import test from 'ava';
import { chmodSync, lstatSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyAction, FileAction } from '../../src/llb/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { contextDir } from '../_support/tsbuild.ts';
import { createTestWorker, run, type TestWorker } from './_setup.ts';


function copy(src: string[], dest: string, extra: Partial<CopyAction> = {}): CopyAction {
  return { action: 'copy', from: 1, src, dest, copyDirContents: true, followSymlinks: true, allowWildcardEmpty: false, extractArchives: false, excludePatterns: [], createDestPath: true, ...extra };
}

async function withCopy(files: Record<string, string>, fn: (w: TestWorker, ctx: string, apply: (actions: FileAction[], excludes?: string[]) => Promise<string>) => Promise<void>) {
  const w = await createTestWorker();
  const ctx = contextDir(files);
  try {
    const base = await w.busybox({ files: { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n', '/etc/group': 'root:x:0:\nstaff:x:1001:\nwheel:x:10:\n' } });
    const apply = (actions: FileAction[], excludes: string[] = []) =>
      w.worker.run({ kind: 'file', base: 0, actions }, [{ type: 'snapshot', id: base }, { type: 'local', dir: ctx, excludePatterns: excludes }], w.ctx);
    await fn(w, ctx, apply);
  } finally {
    await w.cleanup();
    rmSync(ctx, { recursive: true, force: true });
  }
}

const fsOf = (w: TestWorker, id: string, p = '') => join(w.root, 'snapshots', id, 'fs', p);

test('wildcards, directory contents, trailing slash and file renames', (t) =>
  withCopy({ 'a.txt': 'A', 'b.txt': 'B', 'c.md': 'C', 'src/x/y.c': 'Y', 'one': '1' }, async (w, _ctx, apply) => {
    const id = await apply([copy(['/*.txt'], '/out/'), copy(['/src'], '/code'), copy(['/one'], '/renamed'), copy(['/c.md'], '/etc/')]);
    t.is(readFileSync(fsOf(w, id, 'out/a.txt'), 'utf8'), 'A');
    t.is(readFileSync(fsOf(w, id, 'out/b.txt'), 'utf8'), 'B');
    t.is(readFileSync(fsOf(w, id, 'code/x/y.c'), 'utf8'), 'Y');
    t.is(readFileSync(fsOf(w, id, 'renamed'), 'utf8'), '1');
    t.is(readFileSync(fsOf(w, id, 'etc/c.md'), 'utf8'), 'C');
    const s = lstatSync(fsOf(w, id, 'out/a.txt'));
    t.deepEqual([s.uid, s.gid], [0, 0]);
  }));

test('chown by name from the destination, chmod on every file and dir, mtime kept', (t) =>
  withCopy({ 'd/f': 'F' }, async (w, ctx, apply) => {
    utimesSync(join(ctx, 'd/f'), 1_000_000, 1_000_000);
    const id = await apply([copy(['/d'], '/app/d/', { chown: { user: 'app' }, chmod: 0o750 }), copy(['/d/f'], '/g', { chown: { user: 'app', group: 'wheel' } })]);
    const f = lstatSync(fsOf(w, id, 'app/d/f'));
    t.deepEqual([f.uid, f.gid, f.mode & 0o7777, f.mtimeMs], [1000, 1001, 0o750, 1_000_000_000]);
    const parent = lstatSync(fsOf(w, id, 'app'));
    t.deepEqual([parent.uid, parent.gid], [1000, 1001]);
    const g = lstatSync(fsOf(w, id, 'g'));
    t.deepEqual([g.uid, g.gid], [1000, 10]);
  }));

test('symlinks are copied as links, hard links stay links', (t) =>
  withCopy({ 'real': 'R' }, async (w, ctx, apply) => {
    symlinkSync('real', join(ctx, 'link'));
    linkSync(join(ctx, 'real'), join(ctx, 'hard'));
    chmodSync(join(ctx, 'real'), 0o600);
    const id = await apply([copy(['/'], '/c/')]);
    t.is(readlinkSync(fsOf(w, id, 'c/link')), 'real');
    t.is(lstatSync(fsOf(w, id, 'c/hard')).ino, lstatSync(fsOf(w, id, 'c/real')).ino);
    t.is(lstatSync(fsOf(w, id, 'c/real')).mode & 0o777, 0o600);
  }));

test('a symlink in the image pointing at /etc resolves inside the rootfs', (t) =>
  withCopy({ 'evil': 'pwned' }, async (w, _ctx, apply) => {
    const base = await apply([]);
    const linked = await w.worker.run(run('mkdir /x && ln -s /etc /x/esc && ln -s ../../../../../../tmp /x/up'), [{ type: 'snapshot', id: base }], w.ctx);
    const id = await w.worker.run({ kind: 'file', base: 0, actions: [copy(['/evil'], '/x/esc/'), copy(['/evil'], '/x/up/evil2')] }, [{ type: 'snapshot', id: linked }, { type: 'local', dir: _ctx, excludePatterns: [] }], w.ctx);
    t.is(readFileSync(fsOf(w, id, 'etc/evil'), 'utf8'), 'pwned');
    t.is(readFileSync(fsOf(w, id, 'tmp/evil2'), 'utf8'), 'pwned');
    t.throws(() => lstatSync('/etc/evil'));
    t.throws(() => lstatSync('/tmp/evil2'));
  }));

test('a source symlink escaping the context and .. stay inside it', (t) =>
  withCopy({ 'in': 'ok' }, async (w, ctx, apply) => {
    symlinkSync('/etc/passwd', join(ctx, 'pw'));
    const err = await t.throwsAsync(apply([copy(['/pw'], '/pw')]));
    t.true(isTsbuildError(err) && err.code === 'COPY_SOURCE_NOT_FOUND');
    const id = await apply([copy(['/../../in'], '/in')]);
    t.is(readFileSync(fsOf(w, id, 'in'), 'utf8'), 'ok');
  }));

test('missing and excluded sources give clear errors', (t) =>
  withCopy({ 'src/main.c': 'int main;', 'app/.env': 'x' }, async (_w, _ctx, apply) => {
    const missing = await t.throwsAsync(apply([copy(['/src/mian.c'], '/')]));
    t.is(missing?.message, '"src/mian.c" not found in the build context');
    t.is(isTsbuildError(missing) ? missing.hint : '', 'did you mean "src/main.c"?');
    const excluded = await t.throwsAsync(apply([copy(['/app/.env'], '/')], ['**/.env']));
    t.is(excluded?.message, '"app/.env" is excluded by .dockerignore pattern "**/.env"');
  }));

test('mkdir, mkfile and rm', (t) =>
  withCopy({}, async (w, _ctx, apply) => {
    const id = await apply([
      { action: 'mkdir', path: '/a/b/c', mode: 0o700, makeParents: true, chown: { user: '1000', group: '1001' } },
      { action: 'mkfile', path: '/a/b/c/f', mode: 0o640, data: 'hello' },
      { action: 'rm', path: '/bin/v*', allowNotFound: false, allowWildcard: true },
    ]);
    const c = lstatSync(fsOf(w, id, 'a/b/c'));
    t.deepEqual([c.mode & 0o7777, c.uid, c.gid], [0o700, 1000, 1001]);
    t.is(readFileSync(fsOf(w, id, 'a/b/c/f'), 'utf8'), 'hello');
    t.true(lstatSync(fsOf(w, id, 'bin/vi')).isCharacterDevice());
  }));
