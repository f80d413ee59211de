// Issue 9: `--no-cache-filter STAGE[,STAGE]` (comma lists, repeatable) reruns the named stages'
// steps and nothing else, as BuildKit's: a step of another stage keeps its key, so it stays cached
// (BuildKit's keys too follow a rerun step's key, not its bytes).
import test from 'ava';
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
test.after.always(() => removeDir(work));

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

test('one stage: only its steps run', async (t) => {
  t.deepEqual(await ranWith(['--no-cache-filter', 'deps']), ['[deps 2/2] RUN echo deps > /deps']);
});

test('a comma list and a repeated flag name the same stages', async (t) => {
  const both = ['[deps 2/2] RUN echo deps > /deps', '[tools 2/2] RUN echo tools > /tools'];
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
