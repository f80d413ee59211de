// worker/exec and worker/file share what both need (users and groups, kernel paths, an input's
// snapshot) from their own modules, and import each other one way only: exec → file.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../_support/tsbuild.ts';

const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);

test('worker/file never imports worker/exec', (t) => {
  const dir = join(repoRoot, 'worker', 'file');
  const bad = readdirSync(dir).filter((n) => n.endsWith('.ts')).flatMap((n) => importsOf(join(dir, n)).filter((i) => i.startsWith('../exec/')).map((i) => `worker/file/${n} → ${i}`));
  t.deepEqual(bad, []);
});
