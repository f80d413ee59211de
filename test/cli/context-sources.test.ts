// The build context and Dockerfile from where `docker build` takes them: `-f -` (the Dockerfile on
// stdin), `-` (a tar, plain or gzip, or a lone Dockerfile on stdin) and a git URL with
// `#ref:subdir`, served by git's own http-backend on 127.0.0.1. Nothing is left in the temp dir.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveGitHttp } from '../_support/git-http.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-ctxsrc-root-');
const work = tempDir('tsbuild-ctxsrc-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  removeDir(root);
  removeDir(work);
});

/** tsbuild with `input` on its stdin. */
const withStdin = (args: string[], input: Buffer | string) => runTsbuild(args, { root, input });

const leftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith('tsbuild-context-'));

test.serial('-f - reads the Dockerfile from stdin, the context from the directory; errors name it Dockerfile', async (t) => {
  const before = leftovers();
  const ctx = contextDir({ 'hello.txt': 'from the context\n' });
  const out = join(work, 'f-stdin');
  try {
    const r = await withStdin(['build', '--progress', 'quiet', '-f', '-', '-o', `type=local,dest=${out}`, ctx], 'FROM busybox\nCOPY hello.txt /\n');
    t.is(r.code, 0, r.stderr);
    t.is(readFileSync(join(out, 'hello.txt'), 'utf8'), 'from the context\n');
    const bad = await withStdin(['build', '-f', '-', ctx], 'FROM busybox\nRUNN x\n');
    t.is(bad.code, 1);
    t.regex(bad.stderr, /^ERROR: Dockerfile:2: unknown instruction: RUNN/m);
  } finally {
    removeDir(ctx);
  }
  t.deepEqual(leftovers(), before);
});

test.serial('- takes a tar (plain or gzip) as the whole context, or a lone Dockerfile with an empty context', async (t) => {
  const before = leftovers();
  const src = contextDir({ Dockerfile: 'FROM busybox\nCOPY app/ /app/\n', 'app/main.sh': 'echo main\n' });
  try {
    for (const z of ['', 'z']) {
      const out = join(work, `tar${z}`);
      const tar = execFileSync('tar', [`-c${z}f`, '-', '-C', src, '.']);
      const r = await withStdin(['build', '--progress', 'quiet', '-o', `type=local,dest=${out}`, '-'], tar);
      t.is(r.code, 0, r.stderr);
      t.is(readFileSync(join(out, 'app', 'main.sh'), 'utf8'), 'echo main\n');
    }
    const out = join(work, 'lone');
    const lone = await withStdin(['build', '--progress', 'quiet', '-o', `type=local,dest=${out}`, '-'], 'FROM busybox\nRUN echo lone > /lone\n');
    t.is(lone.code, 0, lone.stderr);
    t.is(readFileSync(join(out, 'lone'), 'utf8'), 'lone\n');
    const needsFile = await withStdin(['build', '-'], 'FROM busybox\nCOPY nothing.txt /\n');
    t.is(needsFile.code, 1);
    t.regex(needsFile.stderr, /nothing\.txt/);
    const both = await withStdin(['build', '-f', '-', '-'], 'FROM busybox\n');
    t.is(both.code, 1);
    t.regex(both.stderr, /the context and the Dockerfile cannot both come from stdin/);
  } finally {
    removeDir(src);
  }
  t.deepEqual(leftovers(), before);
});

test.serial('a git URL with #ref:subdir is the context at that ref; a bad ref or subdir is a clear error', async (t) => {
  const before = leftovers();
  const dir = join(work, 'git');
  const w = join(dir, 'work');
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
  const g = (...args: string[]) => execFileSync('git', ['-C', w, ...args], { env, encoding: 'utf8' });
  execFileSync('git', ['init', '-q', '-b', 'main', w]);
  mkdirSync(join(w, 'app'));
  writeFileSync(join(w, 'app', 'Dockerfile'), 'FROM busybox\nCOPY hello.txt /\n');
  writeFileSync(join(w, 'app', 'hello.txt'), 'v1\n');
  g('add', '.');
  g('commit', '-qm', 'one');
  g('tag', 'v1');
  writeFileSync(join(w, 'app', 'hello.txt'), 'v2\n');
  g('commit', '-qam', 'two');
  execFileSync('git', ['clone', '-q', '--bare', w, join(dir, 'ctx.git')]);
  const server = await serveGitHttp(dir);
  try {
    for (const [fragment, want] of [['#v1:app', 'v1\n'], ['#main:app', 'v2\n']]) {
      const out = join(work, `git-${want.trim()}`);
      const r = await runTsbuild(['build', '--progress', 'quiet', '-o', `type=local,dest=${out}`, `${server.base}/ctx.git${fragment}`], { root });
      t.is(r.code, 0, r.stderr);
      t.is(readFileSync(join(out, 'hello.txt'), 'utf8'), want);
    }
    const noRef = await runTsbuild(['build', `${server.base}/ctx.git#nosuch:app`], { root });
    t.is(noRef.code, 1);
    t.regex(noRef.stderr, /git ref "nosuch" not found in http:\/\/127\.0\.0\.1:\d+\/ctx\.git/);
    const escape = await runTsbuild(['build', `${server.base}/ctx.git#main:../..`], { root });
    t.is(escape.code, 1);
    t.regex(escape.stderr, /the subdirectory "\.\.\/\.\." leaves the repository/);
  } finally {
    await server.close();
  }
  t.deepEqual(leftovers(), before);
});
