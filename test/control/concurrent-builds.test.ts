// One engine, several builds at once in one process (what a daemon does): each build sees only its
// own Dockerfile, context, image and errors, and the engine claims the root once for all of them.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEngine, parseOutputSpec, resolveBuildOptions, type BuildResult } from '../../control/index.ts';
import { formatError } from '../../cli/format-error.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import type { ProgressEvent, ProgressSink } from '../../src/progress/index.ts';
import { buildBusybox, contextDir, removeDir, tempDir } from '../_support/tsbuild.ts';

/** A progress sink that keeps every event with its time. */
function recorder(): ProgressSink & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return { events, emit: (e) => events.push({ ...e, time: Date.now() } as ProgressEvent) };
}

/** When the step whose name contains `text` started and finished. */
function span(events: readonly ProgressEvent[], text: string): { start: number; end: number } {
  const of = (type: string) => events.find((e) => e.type === type && 'vertex' in e && e.vertex.name.includes(text))?.time;
  const start = of('vertex.started');
  const end = of('vertex.done');
  if (start === undefined || end === undefined) throw new Error(`no started/done events for "${text}"`);
  return { start, end };
}

const inspect = (root: string, name: string) =>
  JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${join(root, 'content')}:${name}`], { encoding: 'utf8' })) as { config: { Env?: string[]; Cmd?: string[] } };

test('one engine runs two builds and a failing one at once; each gets its own image, files and error', async (t) => {
  const root = tempDir('tsbuild-root-');
  const out = tempDir('tsbuild-out-');
  // all three Dockerfiles are called `Dockerfile` (each build runs from its context): an error
  // excerpt taken from another build's file would show that file's lines
  const a = contextDir({ Dockerfile: 'FROM busybox\nRUN sleep 1 && echo from-a > /a.txt\nENV WHO=a\nCMD ["cat", "/a.txt"]\n' });
  const b = contextDir({ Dockerfile: 'FROM busybox\nCOPY b.txt /b.txt\nRUN sleep 1 && cp /b.txt /copy.txt\nENV WHO=b\n', 'b.txt': 'from-b\n' });
  const bad = contextDir({ Dockerfile: 'FROM busybox\nRUN echo never\nFROBNICATE the build\nRUN echo after\n' });
  try {
    await buildBusybox(root);
    const engine = await openEngine({ root });
    let claims: string[];
    const progress = { a: recorder(), b: recorder(), bad: recorder() };
    let results: PromiseSettledResult<BuildResult>[];
    try {
      const options = (context: string, tag: string, local: string) =>
        resolveBuildOptions({ context: '.', tags: [tag], outputs: [parseOutputSpec('type=image'), parseOutputSpec(`type=local,dest=${join(out, local)}`)] }, context);
      // the failing build starts first: under a process-wide text map the other two would
      // replace its `Dockerfile` before its error is formatted
      results = await Promise.allSettled([
        engine.build(resolveBuildOptions({ context: '.', tags: ['bad'] }, bad), { progress: progress.bad }),
        engine.build(options(a, 'app-a', 'a'), { progress: progress.a }),
        engine.build(options(b, 'app-b', 'b'), { progress: progress.b }),
      ]);
      claims = readdirSync(join(root, 'workers'));
      const rows = await engine.images();
      const [failed, builtA, builtB] = results;
      if (builtA.status !== 'fulfilled' || builtB.status !== 'fulfilled') return t.fail(String(builtA.status === 'rejected' ? builtA.reason : builtB.status === 'rejected' ? builtB.reason : ''));

      // the listing each user would see with `tsbuild images`
      const listed = Object.fromEntries(rows.map((r) => [`${r.repository}:${r.tag}`, r.imageId]));
      t.is(listed['app-a:latest'], builtA.value.imageId);
      t.is(listed['app-b:latest'], builtB.value.imageId);
      t.not(builtA.value.imageId, builtB.value.imageId);
      t.false('bad:latest' in listed, 'the failed build tagged nothing');
      t.deepEqual(builtA.value.exports.flatMap((x) => x.names), ['app-a']);
      // RUN; COPY and RUN; and FROM busybox, which both share: one of them runs it, the other
      // waits for that run and takes its result (solver/step-locks.ts)
      t.is(builtA.value.ran + builtB.value.ran, 4);
      t.is(builtA.value.cached + builtB.value.cached, 1);

      // each image's config and files are its own
      const configA = inspect(root, 'app-a:latest').config;
      const configB = inspect(root, 'app-b:latest').config;
      t.true(configA.Env?.includes('WHO=a'));
      t.deepEqual(configA.Cmd, ['cat', '/a.txt']);
      t.true(configB.Env?.includes('WHO=b'));
      t.is(readFileSync(join(out, 'a', 'a.txt'), 'utf8'), 'from-a\n');
      t.is(readFileSync(join(out, 'b', 'copy.txt'), 'utf8'), 'from-b\n');
      t.false(readdirSync(join(out, 'a')).includes('copy.txt'));
      t.false(readdirSync(join(out, 'b')).includes('a.txt'));

      // the two RUN steps ran at the same time, not one after the other
      const runA = span(progress.a.events, 'RUN sleep 1 && echo from-a');
      const runB = span(progress.b.events, 'RUN sleep 1 && cp /b.txt');
      t.true(runA.start < runB.end && runB.start < runA.end, `RUN a ${JSON.stringify(runA)}, RUN b ${JSON.stringify(runB)}`);

      // the failure names its own Dockerfile line, with its own lines around it
      if (failed.status !== 'rejected') return t.fail('the build with FROBNICATE succeeded');
      t.true(isTsbuildError(failed.reason) && failed.reason.kind !== 'internal', String(failed.reason));
      const report = formatError(failed.reason);
      t.regex(report, /^ERROR: Dockerfile:3: .*FROBNICATE/m);
      t.regex(report, /^ {4}2 \| RUN echo never$/m);
      t.regex(report, /^>>> 3 \| FROBNICATE the build$/m);
      t.regex(report, /^ {4}4 \| RUN echo after$/m);
      t.notRegex(report, /from-a|from-b/);
      t.false(progress.a.events.some((e) => e.type === 'build.warning' && /FROBNICATE/.test(e.message)), 'events stay with their build');
    } finally {
      await engine.close();
    }
    // one claim on the root for all three builds, ended by close
    t.is(claims.length, 1);
    t.deepEqual(readdirSync(join(root, 'workers')), []);
    await t.throwsAsync(engine.images(), { message: /engine .* is closed/ });
  } finally {
    for (const d of [root, out, a, b, bad]) removeDir(d);
  }
});

test('layers compress in parallel, one progress event each, and stack in chain order whatever order they finish in', async (t) => {
  const root = tempDir('tsbuild-root-');
  // the first new layer is by far the slowest to compress: in parallel the small ones after it finish first
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN head -c 30000000 /dev/urandom > /big && echo 1 > /f\nRUN echo 2 > /f\nRUN echo 3 > /f\n' });
  const dest = tempDir('tsbuild-layout-');
  try {
    await buildBusybox(root);
    const engine = await openEngine({ root });
    try {
      const progress = recorder();
      const built = await engine.build(resolveBuildOptions({ context: ctx, tags: ['stacked'], maxParallelism: 4, outputs: [parseOutputSpec(`type=oci,dest=${dest},tar=false`)] }), { progress });
      // the local store's uncompressed layers are written first ('writing layers'), then the export's gzip ones
      const layerEvents = progress.events.flatMap((e) => (e.type === 'vertex.progress' && e.vertex.name === 'exporting to image' && e.label === 'compressing' ? [e] : []));
      const manifest = JSON.parse(readFileSync(join(dest, 'blobs', 'sha256', built.exports[0].digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
      const n = manifest.layers.length;
      // busybox's layers and the three RUNs'
      t.deepEqual(layerEvents.map((e) => e.current), Array.from({ length: n }, (_, i) => i + 1));
      t.true(layerEvents.every((e) => e.total === n));
      t.deepEqual(layerEvents.map((e) => e.id).sort(), manifest.layers.map((l) => `layer ${l.digest}`).sort());
      const finished = (i: number) => layerEvents.findIndex((e) => e.id === `layer ${manifest.layers[i].digest}`);
      t.true(finished(n - 1) < finished(n - 3), 'the last small layer finished before the big one: they ran at once');
      // whatever order they finished in, the layers stack as the steps ran: the last RUN's /f wins
      const bundle = join(dest, '..', `${dest.split('/').pop()}-bundle`);
      execFileSync('umoci', ['unpack', '--image', `${dest}:latest`, bundle]);
      try {
        t.is(readFileSync(join(bundle, 'rootfs', 'f'), 'utf8'), '3\n');
        t.is(readFileSync(join(bundle, 'rootfs', 'big')).length, 30_000_000);
      } finally {
        removeDir(bundle);
      }
    } finally {
      await engine.close();
    }
  } finally {
    for (const d of [root, ctx, dest]) removeDir(d);
  }
});

test('a build cancelled while its layers compress stores no image, and the engine builds on', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN head -c 30000000 /dev/urandom > /big\n' });
  try {
    await buildBusybox(root);
    const engine = await openEngine({ root });
    try {
      const controller = new AbortController();
      const progress: ProgressSink = {
        emit(e) {
          // the solve is over: the export (and its compression) is what the abort stops
          if (e.type === 'vertex.started' && e.vertex.name === 'exporting to image') setTimeout(() => controller.abort(new Error('stop')), 20);
        },
      };
      await t.throwsAsync(engine.build(resolveBuildOptions({ context: ctx, tags: ['big'] }), { progress, signal: controller.signal }), { message: 'stop' });
      t.false((await engine.images()).some((r) => r.repository === 'big'));
      const r = await engine.build(resolveBuildOptions({ context: ctx, tags: ['big'] }), { progress: recorder() });
      t.is(r.ran, 0, 'the RUN itself was done and cached before the abort');
      t.true((await engine.images()).some((row) => row.repository === 'big' && row.imageId === r.imageId));
    } finally {
      await engine.close();
    }
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});
