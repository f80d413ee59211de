// Misuse and damage that must end in one clear error, never a stack trace or a hang.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const noStack = /^\s+at /m;

test('a --root that cannot hold state is refused up front', async (t) => {
  for (const [root, why] of [
    ['/etc/passwd', /\/etc\/passwd is not a directory/],
    ['/proc/tsbuild-state', /a kernel filesystem cannot hold state/],
  ] as const) {
    const r = await runTsbuild(['--root', root, 'images']);
    t.is(r.code, 1);
    t.regex(r.stderr, why);
    t.notRegex(r.stderr, noStack);
  }
});

test('a bad -t name fails before anything is built', async (t) => {
  const root = tempDir();
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'Bad:Name', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: invalid image reference "Bad:Name": repository names must be lowercase/m);
    t.notRegex(r.stderr, /COPY a \/a/, 'no step ran');
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});

test('a damaged store or metadata database is named, with what to do', async (t) => {
  const root = tempDir();
  try {
    await buildBusybox(root);
    const blobs = join(root, 'content', 'blobs', 'sha256');
    const json = readdirSync(blobs).find((b) => readFileSync(join(blobs, b)).subarray(0, 1).toString() === '{')!;
    writeFileSync(join(blobs, json), 'garbage');
    const r = await runTsbuild(['images'], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: the content store is damaged: blob sha256:[0-9a-f]{64} holds content with digest/m);
    t.regex(r.stderr, /^hint: remove .* and build or pull the image again/m);

    writeFileSync(join(root, 'metadata.db'), readFileSync(join(root, 'metadata.db')).subarray(0, 5000));
    rmSync(join(root, 'metadata.db-wal'), { force: true });
    rmSync(join(root, 'metadata.db-shm'), { force: true });
    const r2 = await runTsbuild(['images'], { root });
    t.is(r2.code, 1);
    t.regex(r2.stderr, /^ERROR: the metadata database .* cannot be used: database disk image is malformed/m);
    t.notRegex(r2.stderr, noStack);
  } finally {
    removeDir(root);
  }
});

test('--output type=tar into a missing directory is a clean error', async (t) => {
  const root = tempDir();
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a /a\n', a: 'x' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', 'type=tar,dest=/nonexistent-dir/x.tar', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: --output type=tar: directory \/nonexistent-dir does not exist$/m);
    t.notRegex(r.stderr, noStack);
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});
