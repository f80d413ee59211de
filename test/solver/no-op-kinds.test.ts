// The solver asks the op table (worker/ops, through describeOp and worker.run) and knows no op
// kind: adding an op is one file in worker/ops/ plus one union member, never a solver change.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../_support/tsbuild.ts';

// `local` is left out: the plan's decision for a build context and a local input are named so too
const kinds = ['source', 'exec', 'file', 'image', 'http', 'git'];

test('no solver file switches on or tests an op kind', (t) => {
  const dir = join(repoRoot, 'solver');
  const bad: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    readFileSync(join(dir, name), 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (/\.(kind|source)\b/.test(code) || kinds.some((k) => code.includes(`'${k}'`))) bad.push(`solver/${name}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(bad, []);
});
