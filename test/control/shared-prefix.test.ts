// Issue 9 "shared-prefix": two builds at once that share steps run each shared step once, whether
// they are two builds of one engine or two tsbuild processes on one root; the second waits for the
// first's result (solver/step-locks.ts). A failed first run lets the waiter run the step itself, a
// waiter can be cancelled, and builds reaching shared keys in opposite orders do not deadlock.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cacheMountDir } from '../../worker/index.ts';
import { join } from 'node:path';
import { openEngine, parseOutputSpec, resolveBuildOptions, type BuildResult } from '../../control/index.ts';
import type { ProgressEvent, ProgressSink } from '../../src/progress/index.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { parseRawJson, type RawEvent } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(async () => {
  // the kill -9 test's leftovers (its container's mounts) are removed by recovery, which runs only
  // when no other build has the root open: once every test is done, one more tsbuild does it
  await runTsbuild(['images'], { root });
  removeDir(root);
});

/**
 * Opens the gate a step waits at: the file `name` in its cache mount `id` (made here if the step has
 * not mounted it yet). A step held so ends when the test says, not after a sleep a loaded machine
 * may outlast.
 */
function openGate(id: string, name: string): void {
  const dir = cacheMountDir(root, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), '');
}

function recorder(onEvent?: (e: ProgressEvent) => void): ProgressSink & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return {
    events,
    emit(e) {
      const full = { ...e, time: Date.now() } as ProgressEvent;
      events.push(full);
      onEvent?.(full);
    },
  };
}

/** How many times, over all the builds' events, a step whose name contains `text` started. */
const starts = (events: readonly (ProgressEvent | RawEvent)[], text: string) => events.filter((e) => e.type === 'vertex.started' && e.vertex?.name.includes(text)).length;

/** Five shared steps (one writes a stamp no second run could repeat), then one step of each target. */
const sharedPrefix = (tag: string) =>
  [
    'FROM busybox AS base',
    `RUN echo ${tag} one > /p1`,
    `RUN echo ${tag} two > /p2`,
    `RUN echo $RANDOM-$$-${tag} > /stamp && sleep 1`,
    `RUN echo ${tag} four > /p4`,
    `RUN echo ${tag} five > /p5`,
    'FROM base AS a',
    'RUN echo a > /who',
    'FROM base AS b',
    'RUN echo b > /who',
    '',
  ].join('\n');

test('two builds of one engine at once run their five shared steps once, and both images hold the same stamp', async (t) => {
  const ctx = contextDir({ Dockerfile: sharedPrefix('engine') });
  const out = tempDir('tsbuild-out-');
  const engine = await openEngine({ root });
  try {
    const progress = { a: recorder(), b: recorder() };
    const build = (target: 'a' | 'b') =>
      engine.build(resolveBuildOptions({ context: ctx, target, outputs: [parseOutputSpec(`type=local,dest=${join(out, target)}`)] }), { progress: progress[target] });
    const [a, b] = await Promise.all([build('a'), build('b')]);
    const all = [...progress.a.events, ...progress.b.events];
    for (const step of ['one > /p1', 'two > /p2', '/stamp', 'four > /p4', 'five > /p5']) t.is(starts(all, step), 1, `"${step}" ran once over both builds`);
    // busybox's image op runs here unless another test of this file ran it first
    t.is(a.ran + b.ran, 7 + starts(all, 'FROM busybox'), 'five shared steps and one of each target');
    const stamp = readFileSync(join(out, 'a', 'stamp'), 'utf8');
    t.regex(stamp, /^\d+-\d+-engine\n$/);
    t.is(readFileSync(join(out, 'b', 'stamp'), 'utf8'), stamp);
    t.is(readFileSync(join(out, 'a', 'who'), 'utf8'), 'a\n');
    t.is(readFileSync(join(out, 'b', 'who'), 'utf8'), 'b\n');
  } finally {
    await engine.close();
    removeDir(ctx);
    removeDir(out);
  }
});

test('two tsbuild processes on one root at once run the shared steps once; both images hold the same stamp', async (t) => {
  const ctx = contextDir({ Dockerfile: sharedPrefix('processes') });
  const out = tempDir('tsbuild-out-');
  try {
    const build = (target: string) => runTsbuild(['build', '--progress', 'rawjson', '--target', target, '-o', `type=local,dest=${join(out, target)}`, ctx], { root });
    const [a, b] = await Promise.all([build('a'), build('b')]);
    t.is(a.code, 0, a.stderr);
    t.is(b.code, 0, b.stderr);
    const events = parseRawJson(`${a.stderr}\n${b.stderr}`);
    for (const step of ['one > /p1', '/stamp', 'five > /p5']) t.is(starts(events, step), 1, `"${step}" ran once over both processes`);
    const stamp = readFileSync(join(out, 'a', 'stamp'), 'utf8');
    t.regex(stamp, /^\d+-\d+-processes\n$/);
    t.is(readFileSync(join(out, 'b', 'stamp'), 'utf8'), stamp);
  } finally {
    removeDir(ctx);
    removeDir(out);
  }
});

test('when the first run of a shared step fails, the build that waited for it runs it itself', async (t) => {
  // the step fails the first time it runs and succeeds after: the cache mount remembers
  const ctx = contextDir({
    // the first run fails once the other build waits for it (the test then opens /c/flip-open)
    Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/c,id=shared-prefix-flip sh -c \'if [ -f /c/failed ]; then echo ok > /ok; else touch /c/failed; until [ -e /c/flip-open ]; do sleep 0.05; done; exit 3; fi\'\n',
  });
  const engine = await openEngine({ root });
  try {
    const waiting = (e: ProgressEvent) => {
      if (e.type === 'vertex.progress' && e.id === 'shared' && e.vertex.name.includes('/c/failed')) openGate('shared-prefix-flip', 'flip-open');
    };
    const progress = [recorder(waiting), recorder(waiting)];
    const results = await Promise.allSettled(progress.map((p) => engine.build(resolveBuildOptions({ context: ctx }), { progress: p })));
    const failed = results.findIndex((r) => r.status === 'rejected');
    t.not(failed, -1, 'the first run failed its build');
    const passed = 1 - failed;
    t.is(results[passed].status, 'fulfilled', String((results[passed] as PromiseRejectedResult).reason));
    t.regex(String((results[failed] as PromiseRejectedResult).reason), /exit code 3|exited with 3|\b3\b/);
    t.is(starts(progress[failed].events, '/c/failed'), 1);
    t.is(starts(progress[passed].events, '/c/failed'), 1, 'the waiter ran the step itself');
    t.true(progress[passed].events.some((e) => e.type === 'vertex.progress' && e.id === 'shared' && e.vertex.name.includes('/c/failed')), 'it had waited for the first run');
    t.is((results[passed] as PromiseFulfilledResult<BuildResult>).value.ran, 1);
  } finally {
    await engine.close();
    removeDir(ctx);
  }
});

test('a build cancelled while it waits for another build running the step stops at once; the other finishes', async (t) => {
  // the step runs until the test opens its gate, after the waiter has stopped: so the waiter
  // stopped while the step still ran, whatever the machine's load (no clock is read)
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/gate,id=shared-prefix-gate until [ -e /gate/cancel-open ]; do sleep 0.05; done; echo waited > /w\n' });
  const engine = await openEngine({ root });
  t.teardown(() => openGate('shared-prefix-gate', 'cancel-open'));
  try {
    const controllers = [new AbortController(), new AbortController()];
    const progress = controllers.map((c) =>
      recorder((e) => {
        if (e.type === 'vertex.progress' && e.id === 'shared' && e.vertex.name.includes('cancel-open') && !c.signal.aborted) c.abort(new Error('build cancelled (SIGTERM)'));
      }),
    );
    const ended: boolean[] = [false, false];
    const builds = controllers.map((c, i) => engine.build(resolveBuildOptions({ context: ctx }), { progress: progress[i], signal: c.signal }).finally(() => (ended[i] = true)));
    const cancelled = await Promise.race(builds.map((b, i) => b.then(() => -1, () => i)));
    t.not(cancelled, -1, 'the first build to end is the cancelled one');
    t.false(ended[1 - cancelled], 'the other still runs the step');
    openGate('shared-prefix-gate', 'cancel-open');
    const results = await Promise.allSettled(builds);
    t.is(String((results[cancelled] as PromiseRejectedResult).reason), 'Error: build cancelled (SIGTERM)');
    t.is(results[1 - cancelled].status, 'fulfilled');
    t.is(starts([...progress[0].events, ...progress[1].events], 'cancel-open'), 1);
  } finally {
    await engine.close();
    removeDir(ctx);
  }
});

test('two builds reaching two shared steps in opposite orders, one step at a time each, finish without deadlock', async (t) => {
  const stages = 'FROM busybox AS s1\nRUN sleep 1 && echo 1 > /f1\nFROM busybox AS s2\nRUN sleep 1 && echo 2 > /f2\n';
  const x = contextDir({ Dockerfile: `${stages}FROM busybox\nCOPY --from=s1 /f1 /\nCOPY --from=s2 /f2 /\n` });
  const y = contextDir({ Dockerfile: `${stages}FROM busybox\nCOPY --from=s2 /f2 /\nCOPY --from=s1 /f1 /\n` });
  const engine = await openEngine({ root });
  try {
    const progress = [recorder(), recorder()];
    const builds = [x, y].map((ctx, i) => engine.build(resolveBuildOptions({ context: ctx, maxParallelism: 1 }), { progress: progress[i] }));
    let timer: NodeJS.Timeout | undefined;
    const deadlock = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no build finished in 30 s: deadlock')), 30_000)));
    await Promise.race([Promise.all(builds), deadlock]).finally(() => clearTimeout(timer));
    const all = [...progress[0].events, ...progress[1].events];
    t.is(starts(all, 'echo 1 > /f1'), 1);
    t.is(starts(all, 'echo 2 > /f2'), 1);
  } finally {
    await engine.close();
    removeDir(x);
    removeDir(y);
  }
});

test('SIGTERM to a tsbuild process waiting for another process running the step ends it with 143; the other succeeds', async (t) => {
  // the step runs until the test opens its gate, after the waiter has exited: it did not wait for it
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/gate,id=shared-prefix-gate until [ -e /gate/sigterm-open ]; do sleep 0.05; done; echo sigterm > /s\n' });
  t.teardown(() => openGate('shared-prefix-gate', 'sigterm-open'));
  try {
    const { first, second } = await firstRunsSecondWaits(ctx, 'sigterm-open');
    second.child.kill('SIGTERM');
    const r2 = await second.done;
    t.is(r2.code, 143, r2.stderr);
    t.regex(r2.stderr, /build cancelled \(SIGTERM\)/);
    t.is(first.child.exitCode, null, 'the other still runs the step');
    openGate('shared-prefix-gate', 'sigterm-open');
    const r1 = await first.done;
    t.is(r1.code, 0, r1.stderr);
    t.is(startedSteps(r1.stderr, 'sigterm-open'), 1);
  } finally {
    removeDir(ctx);
  }
});

test('when the tsbuild process running a shared step is killed with -9, the one waiting for it runs the step itself', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN sleep 3 && echo survivor > /k\n' });
  try {
    const { first, second } = await firstRunsSecondWaits(ctx, 'sleep 3');
    first.child.kill('SIGKILL');
    await first.done;
    const r = await second.done;
    t.is(r.code, 0, r.stderr);
    t.is(startedSteps(r.stderr, 'sleep 3'), 1, `it ran the step once its owner was gone:\n${r.stderr}`);
    // the next build on the root cleans up what the killed one left, and finds the step cached
    const again = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(again.code, 0, again.stderr);
    t.regex(again.stderr, /CACHED/);
  } finally {
    removeDir(ctx);
  }
});

/** How many times a step whose name contains `text` started, in rawjson output (maybe cut mid-line). */
const startedSteps = (stderr: string, text: string) => starts(parseRawJson(stderr, { lenient: true }), text);

/** `tsbuild build --progress rawjson CTX` on the test root; `seen` resolves once its output matches `when`. */
/**
 * Two tsbuild processes on one root building `ctx`: the second starts once the first runs the step
 * whose name holds `step`, so it is the one that waits for it (its "shared" progress).
 */
async function firstRunsSecondWaits(ctx: string, step: string) {
  const first = startBuild(ctx, (text) => startedSteps(text, step) > 0);
  await first.seen;
  const second = startBuild(ctx, (text) => parseRawJson(text, { lenient: true }).some((e) => e.type === 'vertex.progress' && e.id === 'shared' && e.vertex?.name.includes(step)));
  await second.seen;
  return { first, second };
}

function startBuild(ctx: string, when: (stderr: string) => boolean) {
  const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'rawjson', ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let seen!: () => void;
  const seenP = new Promise<void>((r) => (seen = r));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (when(stderr)) seen();
  });
  const done = new Promise<{ code: number | null; stderr: string }>((r) => child.on('close', (code) => (seen(), r({ code, stderr }))));
  return { child, seen: seenP, done };
}
