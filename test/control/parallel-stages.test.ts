// Issue 9 "parallel-stages": independent stages run at once by default (steps are unbounded, as in
// BuildKit: a step waiting on its sandbox holds no slot), and `--max-parallelism N` still caps them.
import test from 'ava';
import { availableParallelism } from 'node:os';
import { openEngine, resolveBuildOptions } from '../../control/index.ts';
import { parallelismFor } from '../../solver/index.ts';
import type { ProgressEvent, ProgressSink } from '../../src/progress/index.ts';
import { buildBusybox, contextDir, removeDir, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

function recorder(): ProgressSink & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return { events, emit: (e) => events.push({ ...e, time: Date.now() } as ProgressEvent) };
}

/** Four stages that each wait a second, and a last one copying from all four. */
const fourStages = (tag: string) =>
  [1, 2, 3, 4].map((n) => `FROM busybox AS s${n}\nRUN sleep 1 && echo ${tag} > /f${n}\n`).join('') + 'FROM busybox\n' + [1, 2, 3, 4].map((n) => `COPY --from=s${n} /f${n} /\n`).join('');

/** [start, end] of each step whose name contains `text`. */
function spans(events: readonly ProgressEvent[], text: string): [number, number][] {
  const at = (type: string, name: string) => events.find((e) => e.type === type && 'vertex' in e && e.vertex.name === name)!.time;
  const names = [...new Set(events.flatMap((e) => (e.type === 'vertex.started' && e.vertex.name.includes(text) ? [e.vertex.name] : [])))];
  return names.map((n) => [at('vertex.started', n), at('vertex.done', n)]);
}

test.serial('by default the four sleeping stages run at once', async (t) => {
  const ctx = contextDir({ Dockerfile: fourStages('default') });
  const engine = await openEngine({ root });
  try {
    const progress = recorder();
    const r = await engine.build(resolveBuildOptions({ context: ctx }), { progress });
    const runs = spans(progress.events, 'sleep 1');
    t.is(runs.length, 4);
    // every one started before any finished: all four were under way at once (bounded by the
    // CPU count, as before, two of them would have waited here); the time is bench/'s to measure
    t.true(Math.max(...runs.map((s) => s[0])) < Math.min(...runs.map((s) => s[1])), JSON.stringify(runs));
    t.is(r.ran, 9);
  } finally {
    await engine.close();
    removeDir(ctx);
  }
});

test.serial('--max-parallelism 1 runs one step at a time', async (t) => {
  const ctx = contextDir({ Dockerfile: fourStages('capped') });
  const engine = await openEngine({ root });
  try {
    const progress = recorder();
    await engine.build(resolveBuildOptions({ context: ctx, maxParallelism: 1 }), { progress });
    const runs = spans(progress.events, 'sleep 1').sort((a, b) => a[0] - b[0]);
    t.is(runs.length, 4);
    for (let i = 1; i < runs.length; i++) t.true(runs[i][0] >= runs[i - 1][1], `step ${i} started before step ${i - 1} was done: ${JSON.stringify(runs)}`);
  } finally {
    await engine.close();
    removeDir(ctx);
  }
});

test('the default bounds only CPU work and content reads; --max-parallelism N caps all of them', (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\n' });
  const { maxParallelism } = resolveBuildOptions({ context: ctx });
  removeDir(ctx);
  t.is(maxParallelism, Number.POSITIVE_INFINITY);
  const cpus = availableParallelism();
  t.deepEqual(parallelismFor(maxParallelism), { steps: Number.POSITIVE_INFINITY, contentReads: 8, cpu: cpus });
  t.deepEqual(parallelismFor(1), { steps: 1, contentReads: 1, cpu: 1 });
  t.deepEqual(parallelismFor(32), { steps: 32, contentReads: 8, cpu: Math.min(32, cpus) });
});
