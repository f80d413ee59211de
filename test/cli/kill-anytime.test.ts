// Issue 9: `kill -9` at any moment of a build (solving, a RUN, compressing the layers, writing the
// blobs, tagging) leaves a store on which the next build succeeds, makes the right image, and reuses
// every step the killed build had finished. Each round kills at one moment: as a step starts or
// ends, while layers compress, once the export is done, and at times spread over one whole build
// (measured first). Each round has its own build-arg, so its keys are new and what the next build
// finds cached is what the killed one recorded.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-kill-anytime-');
const ctx = contextDir({
  Dockerfile: [
    'FROM busybox',
    'ARG ROUND',
    'RUN echo "$ROUND" > /one',
    'COPY a.txt /a.txt',
    // random bytes: their gzip takes a while, a window for a kill while compressing and writing blobs
    'RUN head -c 24000000 /dev/urandom > /big && echo two > /two',
    'RUN sleep 0.5 && echo three > /three',
    '',
  ].join('\n'),
  'a.txt': 'a\n',
});

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  removeDir(root);
  removeDir(ctx);
});

const steps = (events: Event[], type: string) => events.filter((e) => e.type === type && e.vertex && /^\[[^\]]*\d+\/\d+\] /.test(e.vertex.name)).map((e) => e.vertex!.name);
// the last line of a killed build may be cut
const parse = (stderr: string): Event[] => parseRawJson(stderr, { lenient: true });
const args = (round: string) => ['--root', root, 'build', '--progress', 'rawjson', '--build-arg', `ROUND=${round}`, '-t', `app:${round}`, ctx];

type Event = { type: string; vertex?: { name: string }; label?: string; current?: number; total?: number };

/** When a round's build is killed: after some time, or as soon as it reports an event. */
type Trigger = { ms: number } | { what: string; on: (e: Event) => boolean };

/** Starts a build and kills it with SIGKILL at `trigger`; resolves to the events it wrote and whether it had already finished. */
function killAt(round: string, trigger: Trigger): Promise<{ events: Event[]; finished: boolean }> {
  const child = spawn(process.execPath, [tsbuildBin, ...args(round)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let seen = 0;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!('on' in trigger)) return;
    const lines = stderr.split('\n').slice(0, -1);
    for (; seen < lines.length; seen++) if (parse(lines[seen]).some(trigger.on)) child.kill('SIGKILL');
  });
  const timer = 'ms' in trigger ? setTimeout(() => child.kill('SIGKILL'), trigger.ms) : undefined;
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ events: parse(stderr), finished: code === 0 });
    });
  });
}

const diffIds = (tag: string) =>
  (JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${join(root, 'content')}:${tag}`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;

test('a kill -9 at any moment: the next build succeeds, makes the whole image and reuses every finished step', async (t) => {
  t.timeout(300_000);
  const started = Date.now();
  const whole = await runTsbuild(args('measure').slice(2), { root });
  t.is(whole.code, 0, whole.stderr);
  const total = Date.now() - started;
  const layers = diffIds('app:measure').length;

  const step = (type: string, text: string) => ({ what: `${type} of ${text}`, on: (e: Event) => e.type === type && (e.vertex?.name.includes(text) ?? false) });
  const triggers: Trigger[] = [
    { ms: 200 },
    step('vertex.started', 'RUN echo'),
    step('vertex.done', 'COPY a.txt'),
    step('vertex.started', 'RUN head'),
    step('vertex.started', 'RUN sleep'),
    { what: 'compressing', on: (e) => e.label === 'compressing' },
    { what: 'the last layer compressed', on: (e) => e.label === 'compressing' && e.current === e.total },
    step('vertex.done', 'exporting to image'),
    // and moments between those, spread over one build's time
    ...[0.3, 0.5, 0.7, 0.9].map((f) => ({ ms: Math.round(total * f) })),
  ];
  const rounds = triggers.length;
  let killedMidway = 0;
  let killedAfterASteps = 0;
  for (const [i, trigger] of triggers.entries()) {
    const round = `r${i}`;
    const killed = await killAt(round, trigger);
    t.log(`round ${i}: killed at ${'ms' in trigger ? `${trigger.ms} ms` : trigger.what}, ${killed.finished ? 'finished before' : `last event ${JSON.stringify(killed.events.at(-1)?.vertex?.name ?? killed.events.at(-1)?.type ?? 'none')}`}`);
    if (!killed.finished) killedMidway++;
    const finished = steps(killed.events, 'vertex.done');
    if (!killed.finished && finished.length > 0) killedAfterASteps++;

    const next = await runTsbuild(args(round).slice(2), { root });
    t.is(next.code, 0, `round ${i}: ${next.stderr}`);
    const events = parse(next.stderr);
    const cached = steps(events, 'vertex.cached');
    for (const s of finished) t.true(cached.includes(s), `round ${i}: "${s}" finished before the kill, so it is cached now; cached: ${cached.join(', ')}`);
    t.is(diffIds(`app:${round}`).length, layers, `round ${i}: the tag names the whole image`);
  }
  t.true(killedMidway >= rounds / 2, `most kills land inside the build (${killedMidway} of ${rounds})`);
  t.true(killedAfterASteps >= 2, `some kills land after steps finished (${killedAfterASteps} of ${rounds})`);
  const listed = await runTsbuild(['images'], { root });
  t.is(listed.code, 0, listed.stderr);
  for (let i = 0; i < rounds; i++) t.regex(listed.stdout, new RegExp(`app\\s+r${i}\\b`));
});
