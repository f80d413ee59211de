// R1, end to end as the review proved it: `COPY link /out` where link -> real.txt, then the target
// changes. The rebuild must miss the cache and copy the new bytes.
import test from 'ava';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

test('R1: editing the target of a COPY symlink source misses the cache and copies the new content', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY link /out\n', 'real.txt': 'AAAA\n' });
  const out = tempDir('tsbuild-out-');
  t.teardown(() => [root, ctx, out].forEach(removeDir));
  symlinkSync('real.txt', join(ctx, 'link'));
  const build = async () => {
    const r = await runTsbuild(['build', '--progress', 'plain', '--output', `type=local,dest=${out}`, ctx], { root });
    t.is(r.code, 0, r.stderr);
    return readFileSync(join(out, 'out'), 'utf8');
  };
  t.is(await build(), 'AAAA\n');
  writeFileSync(join(ctx, 'real.txt'), 'BBBB\n');
  t.is(await build(), 'BBBB\n');
});
