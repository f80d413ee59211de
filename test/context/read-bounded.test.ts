// issue 7 item 2: small files from an image, snapshot or context are read without following a
// link out of their root, only when regular, and with a size bound.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDockerignore, readFileInRoot, readRegularFile } from '../../src/context/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const opts = { maxBytes: 16, what: 'the file' };

test('readRegularFile: a regular file within the bound is read; a missing one is undefined', (t) => {
  const dir = contextDir({ a: 'hello' });
  t.teardown(() => removeDir(dir));
  t.is(readRegularFile(join(dir, 'a'), opts)?.toString(), 'hello');
  t.is(readRegularFile(join(dir, 'missing'), opts), undefined);
  t.is(readRegularFile(join(dir, 'a/below-a-file'), opts), undefined);
});

test('readRegularFile: over the bound, a FIFO, a device, a directory and a final symlink are refused by name', (t) => {
  const dir = contextDir({ big: 'x'.repeat(17), exact: 'x'.repeat(16), target: 'ok' });
  t.teardown(() => removeDir(dir));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  execFileSync('mknod', [join(dir, 'zero'), 'c', '1', '5']);
  mkdirSync(join(dir, 'dir'));
  symlinkSync('target', join(dir, 'link'));
  t.is(readRegularFile(join(dir, 'exact'), opts)?.length, 16);
  const refused = (name: string) => {
    const e = t.throws(() => readRegularFile(join(dir, name), opts));
    t.true(isTsbuildError(e) && e.code === 'FILE_UNREADABLE', `${name}: ${String(e)}`);
    return e!.message;
  };
  t.is(refused('big'), 'cannot read the file: it is larger than 16 bytes');
  t.is(refused('fifo'), 'cannot read the file: it is a FIFO, not a regular file');
  t.is(refused('zero'), 'cannot read the file: it is a character device (1:5), not a regular file');
  t.is(refused('dir'), 'cannot read the file: it is a directory, not a regular file');
  t.is(refused('link'), 'cannot read the file: it is a symbolic link, not a regular file');
});

test('readFileInRoot: links resolve inside the root, never to the host', (t) => {
  const root = tempDir();
  t.teardown(() => removeDir(root));
  mkdirSync(join(root, 'etc'));
  symlinkSync('/../../../../etc/hostname', join(root, 'etc/name'));
  t.is(readFileInRoot(root, '/etc/name', opts), undefined, 'the host /etc/hostname is not read');
  writeFileSync(join(root, 'etc/hostname'), 'image');
  t.is(readFileInRoot(root, '/etc/name', opts)?.toString(), 'image');
});

test('.dockerignore: a FIFO is a clear error, not a hang; a link out of the context is not followed', async (t) => {
  const dir = contextDir({ Dockerfile: 'FROM scratch\n', 'other/.dockerignore': 'x\n' });
  t.teardown(() => removeDir(dir));
  execFileSync('mkfifo', [join(dir, '.dockerignore')]);
  await t.throwsAsync(readDockerignore(dir), { message: 'cannot read .dockerignore: it is a FIFO, not a regular file' });
  execFileSync('rm', [join(dir, '.dockerignore')]);
  symlinkSync(join(dir, 'other/.dockerignore'), join(dir, '.dockerignore'));
  t.deepEqual(await readDockerignore(dir), [], 'an absolute link target resolves inside the context, where nothing is');
  execFileSync('rm', [join(dir, '.dockerignore')]);
  writeFileSync(join(dir, '.dockerignore'), 'a'.repeat(1024 * 1024 + 1));
  await t.throwsAsync(readDockerignore(dir), { message: 'cannot read .dockerignore: it is larger than 1048576 bytes' });
});

test('.dockerignore that is a FIFO: tsbuild build fails at once naming it', async (t) => {
  const dir = contextDir({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'a' });
  const root = tempDir('tsbuild-root-');
  t.teardown(() => {
    removeDir(dir);
    removeDir(root);
  });
  execFileSync('mkfifo', [join(dir, '.dockerignore')]);
  const started = Date.now();
  const r = await runTsbuild(['build', '--progress', 'plain', dir], { root });
  t.true(Date.now() - started < 30_000);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /cannot read \.dockerignore: it is a FIFO, not a regular file/);
  t.notRegex(r.stderr, /internal error|    at /);
});
