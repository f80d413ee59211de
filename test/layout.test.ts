// The folders meet only in src/llb: a slip here fails CI instead of review (STYLE.md).
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './_support/tsbuild.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

// static and dynamic imports both: a lazy `await import('../worker/x.ts')` crosses a boundary as much
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:from |import\()'([^']+)'/g)].map((m) => m[1]);

for (const [folder, forbidden] of [
  ['frontend', ['/worker/', '/solver/', '/exporter/', '/control/', '/cli/']],
  ['worker', ['/frontend/', '/solver/', '/exporter/', '/control/', '/cli/']],
  ['exporter', ['/frontend/', '/solver/', '/worker/', '/control/', '/cli/']],
  ['solver', ['/frontend/', '/exporter/', '/control/', '/cli/']],
  // src/ is the bottom layer: what every step shares, never a step itself
  ['src', ['/frontend/', '/solver/', '/worker/', '/exporter/', '/control/', '/cli/']],
  // the CLI parses arguments and renders; the engine does the work
  ['cli', ['/frontend/', '/solver/', '/worker/', '/exporter/']],
  ['control', ['/cli/']],
] as const) {
  test(`${folder}/ imports none of ${forbidden.join(' ')}`, (t) => {
    const bad = sources(join(repoRoot, folder)).flatMap((f) => importsOf(f).filter((i) => forbidden.some((x) => `/${i.replace(/^(\.\.\/)+/, '')}`.startsWith(x))).map((i) => `${relative(repoRoot, f)} → ${i}`));
    t.deepEqual(bad, []);
  });
}

test('the worker never speaks of Dockerfiles, stages or instructions', (t) => {
  const bad = sources(join(repoRoot, 'worker')).filter((f) => /\b(Dockerfile|stage|instruction)\b/i.test(readFileSync(f, 'utf8')));
  t.deepEqual(bad.map((f) => relative(repoRoot, f)), []);
});

test('a step folder is entered through its index.ts only', (t) => {
  const steps = ['frontend', 'solver', 'worker', 'exporter', 'control'];
  const bad: string[] = [];
  for (const folder of ['src', 'cli', ...steps]) {
    for (const f of sources(join(repoRoot, folder))) {
      for (const i of importsOf(f)) {
        const target = join(f, '..', i);
        const rel = relative(repoRoot, target);
        const step = steps.find((s) => rel.startsWith(`${s}/`));
        if (step && step !== folder && rel !== `${step}/index.ts`) bad.push(`${relative(repoRoot, f)} → ${i}`);
      }
    }
  }
  t.deepEqual(bad, []);
});
