// Issue 9: two tsbuild processes on one state root at once (two terminals, two CI jobs on one
// runner) both succeed with the right results, whether they build different contexts or the same one.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const work = tempDir('tsbuild-two-processes-');
const root = join(work, 'root');

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(work));

const build = (ctx: string, tag: string, out: string) =>
  runTsbuild(['build', '--progress', 'plain', '-t', tag, '-o', 'type=image', '-o', `type=local,dest=${out}`, ctx], { root });

test.serial('two processes, different contexts: each image has its own files', async (t) => {
  const a = contextDir({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN sleep 1 && cat /a.txt > /made.txt\n', 'a.txt': 'from a\n' });
  const b = contextDir({ Dockerfile: 'FROM busybox\nCOPY b.txt /b.txt\nRUN sleep 1 && cat /b.txt > /made.txt\n', 'b.txt': 'from b\n' });
  try {
    const [ra, rb] = await Promise.all([build(a, 'two-a', join(work, 'out-a')), build(b, 'two-b', join(work, 'out-b'))]);
    t.is(ra.code, 0, ra.stderr);
    t.is(rb.code, 0, rb.stderr);
    t.is(readFileSync(join(work, 'out-a', 'made.txt'), 'utf8'), 'from a\n');
    t.is(readFileSync(join(work, 'out-b', 'made.txt'), 'utf8'), 'from b\n');
    const images = await runTsbuild(['images'], { root });
    t.regex(images.stdout, /two-a/);
    t.regex(images.stdout, /two-b/);
  } finally {
    removeDir(a);
    removeDir(b);
  }
});

test.serial('two processes, the same context: both succeed with the same image, and a third build finds every step cached', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY s.txt /s.txt\nRUN sleep 1 && cat /s.txt /s.txt > /made.txt\nRUN echo done > /done.txt\n', 's.txt': 'same\n' });
  try {
    const [r1, r2] = await Promise.all([build(ctx, 'same-1', join(work, 'out-1')), build(ctx, 'same-2', join(work, 'out-2'))]);
    t.is(r1.code, 0, r1.stderr);
    t.is(r2.code, 0, r2.stderr);
    for (const out of ['out-1', 'out-2']) {
      t.is(readFileSync(join(work, out, 'made.txt'), 'utf8'), 'same\nsame\n');
      t.is(readFileSync(join(work, out, 'done.txt'), 'utf8'), 'done\n');
    }
    const id = (r: { stderr: string }) => /Built (sha256:[0-9a-f]+)/.exec(r.stderr)?.[1];
    t.truthy(id(r1));
    t.is(id(r1), id(r2), 'the same image');
    const third = await build(ctx, 'same-3', join(work, 'out-3'));
    t.is(third.code, 0, third.stderr);
    t.regex(third.stderr, /\(0 steps ran, \d+ cached\)/);
    t.is(id(third), id(r1));
  } finally {
    removeDir(ctx);
  }
});
