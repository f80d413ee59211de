// Issue 9: `--no-cache-filter STAGE[,STAGE]` (comma lists, repeatable) reruns the named stages'
// steps, and every step on their results (their keys are made of the rerun step's key, not of the
// bytes its rerun made: a hit would export the old result; BuildKit gives them no key until the
// rerun step has run). Steps not on a rerun step stay cached.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';

const work = tempDir('tsbuild-no-cache-filter-');
const root = join(work, 'root');
let ctx: string;

test.before(async () => {
  await buildBusybox(root);
  ctx = contextDir({
    Dockerfile: [
      'FROM busybox AS deps',
      'RUN echo deps > /deps',
      'FROM busybox AS tools',
      'RUN echo tools > /tools',
      'FROM busybox AS final',
      'COPY --from=deps /deps /deps',
      'COPY --from=tools /tools /tools',
      'RUN cat /deps /tools > /all',
      '',
    ].join('\n'),
  });
  const first = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
  if (first.code !== 0) throw new Error(first.stderr);
});
test.after.always(() => {
  removeDir(work);
  if (ctx) removeDir(ctx);
});

type Event = { type: string; vertex?: { name: string } };

/** The Dockerfile steps that ran (not cached) in a build with `flags`. */
async function ranWith(flags: string[]): Promise<string[]> {
  const r = await runTsbuild(['build', '--progress', 'rawjson', ...flags, ctx], { root });
  if (r.code !== 0) throw new Error(r.stderr);
  const events = parseRawJson(r.stderr);
  const cached = new Set(events.filter((e) => e.type === 'vertex.cached').map((e) => e.vertex!.name));
  return events.filter((e) => e.type === 'vertex.done' && !cached.has(e.vertex!.name) && / RUN | COPY /.test(e.vertex!.name)).map((e) => e.vertex!.name).sort();
}

test('without the flag every step is cached', async (t) => {
  t.deepEqual(await ranWith([]), []);
});

const finalSteps = ['[final 2/4] COPY --from=deps /deps /deps', '[final 3/4] COPY --from=tools /tools /tools', '[final 4/4] RUN cat /deps /tools > /all'];

test('one stage: its steps run, then the steps on its result; another stage stays cached', async (t) => {
  t.deepEqual(await ranWith(['--no-cache-filter', 'deps']), ['[deps 2/2] RUN echo deps > /deps', ...finalSteps]);
});

test('a comma list and a repeated flag name the same stages', async (t) => {
  const both = ['[deps 2/2] RUN echo deps > /deps', ...finalSteps, '[tools 2/2] RUN echo tools > /tools'];
  t.deepEqual(await ranWith(['--no-cache-filter', 'deps,tools']), both);
  t.deepEqual(await ranWith(['--no-cache-filter', 'deps', '--no-cache-filter=tools']), both);
});

test('the last stage: its steps run, the stages it copies from stay cached', async (t) => {
  const ran = await ranWith(['--no-cache-filter', 'final']);
  t.deepEqual(ran, ['[final 2/4] COPY --from=deps /deps /deps', '[final 3/4] COPY --from=tools /tools /tools', '[final 4/4] RUN cat /deps /tools > /all']);
});

test('an empty list is a clear error, not a crash', async (t) => {
  const r = await runTsbuild(['build', '--progress', 'plain', '--no-cache-filter', ',', ctx], { root });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /--no-cache-filter needs stage names/);
  t.notRegex(r.stderr, /internal error|^\s+at /m);
});

test('a stage name the build does not have is a warning', async (t) => {
  const r = await runTsbuild(['build', '--progress', 'plain', '--no-cache-filter', 'tools,tols', ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /--no-cache-filter: no stage named "tols" is part of this build/);
  t.notRegex(r.stderr, /no stage named "tools"/);
});

/** Builds `ctx` with `flags`, exporting to a new directory; the plain progress and what /one holds there. */
async function exportOne(ctx: string, flags: string[]): Promise<{ stderr: string; one: string }> {
  const dest = join(work, `out-${++exports}`);
  const r = await runTsbuild(['build', '--progress', 'plain', ...flags, '-o', `type=local,dest=${dest}`, ctx], { root });
  if (r.code !== 0) throw new Error(r.stderr);
  return { stderr: r.stderr, one: readFileSync(join(dest, 'one'), 'utf8') };
}
let exports = 0;

/** The plain progress block of the step whose name contains `name`: 'CACHED', its `cache miss:` line, or 'ran'. */
function outcome(stderr: string, name: string): string {
  const n = stderr.split('\n').map((l) => /^#(\d+) (.*)$/.exec(l)).find((m) => m?.[2].includes(name))?.[1];
  if (n === undefined) return 'not shown';
  const lines = stderr.split('\n').filter((l) => l.startsWith(`#${n} `)).map((l) => l.slice(n.length + 2));
  if (lines.includes('CACHED')) return 'CACHED';
  return lines.find((l) => l.startsWith('cache miss: '))?.slice('cache miss: '.length) ?? 'ran';
}

test.serial('a rerun that makes new bytes: the image has them, not the old result', async (t) => {
  const random = contextDir({
    Dockerfile: ['FROM busybox AS one', 'RUN head -c 8 /dev/urandom | od -An -tx1 > /one', 'FROM busybox AS other', 'RUN echo other > /other', 'FROM busybox', 'COPY --from=other /other /other', 'COPY --from=one /one /one', ''].join('\n'),
  });
  t.teardown(() => removeDir(random));
  const first = await exportOne(random, []);
  const again = await exportOne(random, ['--no-cache-filter', 'one']);
  t.not(again.one, first.one, 'the COPY took the rerun RUN\'s bytes');
  t.is(outcome(again.stderr, 'COPY --from=one'), 'earlier step "[one 2/2] RUN head -c 8 /dev/urandom | od -An -tx1 > /one" ran again (--no-cache-filter)');
  t.is(outcome(again.stderr, 'COPY --from=other'), 'CACHED', 'a step not on the rerun stage stays cached');
  t.is(outcome(again.stderr, 'RUN echo other'), 'CACHED');
  // the cache now holds the rerun's result under both keys: a build without the flag exports it
  const after = await exportOne(random, []);
  t.is(after.one, again.one);
  t.is(outcome(after.stderr, 'COPY --from=one'), 'CACHED');
});

// This solver keys no step's result by its content (BuildKit's COPY --from may hit by the checksum
// of the files it copies): the rerun's bytes cannot be proven the same before the COPY would hit,
// so it runs, and the image holds what the rerun made (here the same bytes).
test.serial('a rerun that makes the same bytes: the steps on it run again all the same', async (t) => {
  const same = contextDir({ Dockerfile: ['FROM busybox AS one', 'RUN echo same > /one', 'FROM busybox', 'COPY --from=one /one /one', 'RUN wc -c /one > /size', ''].join('\n') });
  t.teardown(() => removeDir(same));
  await exportOne(same, []);
  const again = await exportOne(same, ['--no-cache-filter', 'one']);
  t.is(again.one, 'same\n');
  t.is(outcome(again.stderr, 'RUN echo same'), 'cache disabled for stage one (--no-cache-filter)');
  t.regex(outcome(again.stderr, 'COPY --from=one'), /^earlier step "\[one 2\/2\] RUN echo same > \/one" ran again/);
  t.regex(outcome(again.stderr, 'RUN wc -c'), /^earlier step "\[one 2\/2\] RUN echo same > \/one" ran again/);
});

test.serial('--explain says why each step on the rerun stage ran, and why the others were hits', async (t) => {
  const r = await runTsbuild(['build', '--progress', 'plain', '--explain', '--no-cache-filter', 'tools', ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.is(outcome(r.stderr, 'RUN echo tools'), 'cache disabled for stage tools (--no-cache-filter)');
  t.is(outcome(r.stderr, 'COPY --from=tools'), 'earlier step "[tools 2/2] RUN echo tools > /tools" ran again (--no-cache-filter)');
  t.is(outcome(r.stderr, 'RUN cat /deps'), 'earlier step "[tools 2/2] RUN echo tools > /tools" ran again (--no-cache-filter)');
  t.regex(r.stderr, /COPY --from=deps \/deps \/deps\n(#\d+ .*\n)*#\d+ cached: same op, inputs and content/);
});
