// Issue 7 item 8: Dockerfiles whose cost grew faster than their size. Each either builds or fails
// with one clear error naming the line; none may exhaust the heap, overflow the stack or run on.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir, type RunResult } from '../_support/tsbuild.ts';
import { createVertex, graphDepth, topoSort, type Vertex } from '../../src/llb/index.ts';

const noStack = /^\s+at /m;

async function build(dockerfile: string, extraArgs: string[] = []): Promise<RunResult & { tarList: () => string[] }> {
  const root = tempDir();
  const ctx = contextDir({ Dockerfile: dockerfile });
  const out = join(root, 'out.tar');
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=tar,dest=${out}`, ...extraArgs, ctx], { root });
    const list = r.code === 0 ? execFileSync('tar', ['-tf', out], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean) : [];
    return { ...r, tarList: () => list };
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
}

test('WORKDIR with 1,000 path components builds (path resolution is linear)', async (t) => {
  const deep = '/' + Array.from({ length: 1000 }, () => 'a').join('/');
  const r = await build(`FROM scratch\nWORKDIR ${deep}\n`);
  t.is(r.code, 0, r.stderr);
  t.true(r.tarList().some((p) => p.replace(/\/$/, '') === deep.slice(1)));
});

test('a WORKDIR longer than PATH_MAX is refused with its line', async (t) => {
  const deep = '/' + Array.from({ length: 3000 }, () => 'a').join('/');
  const r = await build(`FROM scratch\nWORKDIR ${deep}\n`);
  t.is(r.code, 1);
  t.regex(r.stderr, /Dockerfile:2: .*WORKDIR path is 6000 bytes long; Linux allows at most 4095/);
  t.notRegex(r.stderr, noStack);
});

test('ARGs that double themselves stop at the expansion bound with the line, not out of heap', async (t) => {
  const lines = ['FROM scratch', 'ARG a0=xx', ...Array.from({ length: 33 }, (_, i) => `ARG a${i + 1}=\${a${i}}\${a${i}}`), 'ENV X=$a33'];
  const r = await build(lines.join('\n') + '\n');
  t.is(r.code, 1);
  // a19 is 2^20 characters: a20 is the first word over the bound, on line 22
  t.regex(r.stderr, /Dockerfile:22: .*variable expansion makes a word longer than 1048576 characters/);
  t.notRegex(r.stderr, noStack);
  t.notRegex(r.stderr, /heap/i);
});

test('a ${var//pattern/replacement} that would grow past the bound is refused', async (t) => {
  const r = await build('FROM scratch\nARG a=xxxxxxxxxxxxxxxxx\nARG b=${a//x/${a}${a}${a}${a}}\nARG c=${b//x/${b}}\n');
  t.is(r.code, 1);
  t.regex(r.stderr, /Dockerfile:4: .*longer than 1048576 characters/);
});

test('2,000 stages chained by FROM prev AS next build', async (t) => {
  const lines = ['FROM scratch AS s0', 'COPY Dockerfile /f', ...Array.from({ length: 2000 }, (_, i) => `FROM s${i} AS s${i + 1}`)];
  const root = tempDir();
  const ctx = contextDir({ Dockerfile: lines.join('\n') + '\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${join(root, 'out')}`, ctx], { root });
    t.is(r.code, 0, r.stderr.slice(-2000));
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});

test('5,000 stages chained by COPY --from end in one clear error about the graph depth', async (t) => {
  const lines = ['FROM scratch AS s0', 'COPY Dockerfile /f'];
  for (let i = 1; i <= 5000; i++) lines.push(`FROM scratch AS s${i}`, `COPY --from=s${i - 1} /f /f`);
  const r = await build(lines.join('\n') + '\n');
  t.is(r.code, 1);
  t.regex(r.stderr, /the build graph is 5002 steps deep .* tsbuild builds at most 1000/);
  t.regex(r.stderr, /Dockerfile:10002/);
  t.notRegex(r.stderr, noStack);
});

test('more than 10,000 stages are refused by the parser, naming the line', async (t) => {
  const lines = ['FROM scratch AS s0', ...Array.from({ length: 10_000 }, (_, i) => `FROM s${i} AS s${i + 1}`)];
  const r = await build(lines.join('\n') + '\n');
  t.is(r.code, 1);
  t.regex(r.stderr, /Dockerfile:10001: more than 10000 stages/);
  t.notRegex(r.stderr, noStack);
});

test('topoSort and graphDepth walk a 100,000-vertex chain without recursion', (t) => {
  let v: Vertex = createVertex({ kind: 'source', source: 'local', name: 'context', excludePatterns: [] } as never, [], { name: 'ctx' });
  for (let i = 0; i < 100_000; i++) v = createVertex({ kind: 'file', base: 0, actions: [{ action: 'mkdir', path: `/d${i}`, mode: 0o755, makeParents: true }] } as never, [v], { name: `mkdir ${i}` });
  const order = topoSort([v]);
  t.is(order.length, 100_001);
  t.is(order[order.length - 1], v);
  t.is(graphDepth(order), 100_001);
});

test('many variables each under the word bound still stop at the build\'s expansion budget, with the line (was a 3 GB config)', async (t) => {
  const lines = ['FROM scratch', 'ARG a0=xxxxxxxx', ...Array.from({ length: 16 }, (_, i) => `ARG a${i + 1}=\${a${i}}\${a${i}}`)];
  for (let k = 0; k < 3; k++) lines.push(`ENV ${Array.from({ length: 400 }, (_, j) => `e${k}_${j}=$a16`).join(' ')}`);
  const r = await build(lines.join('\n') + '\n');
  t.is(r.code, 1);
  t.regex(r.stderr, /Dockerfile:\d+: .*variable expansions in this Dockerfile add up to more than 67108864 characters/);
  t.notRegex(r.stderr, noStack);
});
