// A big context is walked by find while tsbuild starts (src/context/tree-prewalk.ts) once its state
// root has seen a big read of it: what a user must see is that every edit still reaches the image,
// and that an unchanged rebuild keeps every step cached.
import test from 'ava';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { prewalkMinEntries } from '../../src/context/index.ts';
import { openDatabase } from '../../src/state/index.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

test('a context big enough to be walked at start-up: an unchanged rebuild is cached, every edit reaches the image, excluded trees do not count', async (t) => {
  const files: Record<string, string> = { Dockerfile: 'FROM scratch\nCOPY . /\n', '.dockerignore': 'scratch\n' };
  for (let i = 0; i < prewalkMinEntries; i++) files[`src/m-${i % 10}/f-${String(i).padStart(4, '0')}.txt`] = `file ${i}\n`;
  files['scratch/log.txt'] = 'excluded\n';
  const ctx = contextDir(files);
  const root = tempDir();
  const out = tempDir('tsbuild-out-');
  t.teardown(() => [ctx, root, out].forEach(removeDir));
  const build = async () => {
    rmSync(out, { recursive: true, force: true });
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { root });
    t.is(r.code, 0, r.stderr);
    return { stderr: r.stderr, read: (rel: string) => readFileSync(join(out, rel), 'utf8') };
  };
  const copyCached = (stderr: string) => /\[1\/1\] COPY \. \/\s*\n#\d+ CACHED/.test(stderr);

  t.is((await build()).read('src/m-7/f-0007.txt'), 'file 7\n');
  t.is(readdirSync(join(root, 'context-walks')).filter((f) => f !== 'early.json').length, 1, 'the state root remembers this context is big');
  // and the walk bin/tsbuild.js is to start, from this first big read on: written only by the next
  // build's own (unsplit) prewalk, it made the build after that miss the split walk's hash once
  t.true(readFileSync(join(root, 'context-walks', 'early.json'), 'utf8').includes(JSON.stringify(ctx)), 'the walk\'s arguments are kept from the first read on');
  // settled (older than the 2 s a timestamp may be coarse), so the next reads keep their fingerprints
  await sleep(2100);
  t.true(copyCached((await build()).stderr), 'walked at start-up, nothing changed: cached');
  t.true(copyCached((await build()).stderr), 'again, answered by the walk\'s hash');
  // from now on bin/tsbuild.js starts the walk before the CLI loads (test/context/early-walk.test.ts)
  t.true(readFileSync(join(root, 'context-walks', 'early.json'), 'utf8').includes(JSON.stringify(ctx)), 'the walk\'s arguments are kept for the next start');
  const db = openDatabase(join(root, 'metadata.db'));
  try {
    t.true((db.prepare("SELECT count(*) AS n FROM context_reads WHERE read LIKE '%:tree'").get() as { n: number }).n > 0, 'the walk\'s hash is kept');
  } finally {
    db.close();
  }

  writeFileSync(join(ctx, 'scratch/log.txt'), 'still excluded, now longer\n');
  t.true(copyCached((await build()).stderr), 'an excluded file changed: still cached');
  // the same size: only the bytes and the timestamps differ
  writeFileSync(join(ctx, 'src/m-7/f-0007.txt'), 'FILE 7\n');
  const edited = await build();
  t.false(copyCached(edited.stderr), 'an edited file: the COPY runs');
  t.is(edited.read('src/m-7/f-0007.txt'), 'FILE 7\n');
  t.is(edited.read('src/m-8/f-0008.txt'), 'file 8\n');
  writeFileSync(join(ctx, 'src/m-0/new.txt'), 'new\n');
  t.is((await build()).read('src/m-0/new.txt'), 'new\n', 'an added file reaches the image');
  // the walk started at start-up prunes scratch/, the build's does not any more: its own walk is used
  writeFileSync(join(ctx, '.dockerignore'), 'scratch/*.tmp\n');
  t.is((await build()).read('scratch/log.txt'), 'still excluded, now longer\n', 'a .dockerignore change reaches the image');
  writeFileSync(join(ctx, 'scratch/log.txt'), 'included, changed\n');
  t.is((await build()).read('scratch/log.txt'), 'included, changed\n', 'and its next edit too');
});
