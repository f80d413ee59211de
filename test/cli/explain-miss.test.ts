// Issue 9 "every miss explained": a step that runs although a result for it existed says, on its own
// progress block, which part of its key changed since the last build of that step. Each test builds
// once, changes one input the way a user does, builds again, and reads the plain progress.
import test from 'ava';
import { chmodSync, chownSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-root-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

interface Step {
  name: string;
  lines: string[];
}

/** Plain progress as blocks: `#N name`, then every `#N …` line of that step. */
function steps(stderr: string): Step[] {
  const byNumber = new Map<string, Step>();
  for (const line of stderr.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const s = byNumber.get(m[1]);
    if (s) s.lines.push(m[2]);
    else byNumber.set(m[1], { name: m[2], lines: [] });
  }
  return [...byNumber.values()];
}

/** The step whose name contains `name`: 'CACHED', or its `cache miss:` line, or 'ran' (no line). */
function outcome(stderr: string, name: string): string {
  const s = steps(stderr).find((x) => x.name.includes(name));
  if (!s) return 'not shown';
  if (s.lines.includes('CACHED')) return 'CACHED';
  return s.lines.find((l) => l.startsWith('cache miss: '))?.replace(/ \(since the build of [\d-]+ [\d:]+\)$/, '') ?? 'ran';
}

async function build(ctx: string, ...args: string[]): Promise<string> {
  const r = await runTsbuild(['build', '--progress', 'plain', ...args, ctx], { root });
  if (r.code !== 0) throw new Error(`build failed:\n${r.stderr}`);
  return r.stderr;
}

const dockerfile = 'FROM busybox\nCOPY src/ /app/\nCOPY run.sh /run.sh\nRUN cat /app/app.js /run.sh > /out\n';
// each test its own content: no test hits another's results
let projects = 0;
const project = () => contextDir({ Dockerfile: dockerfile, 'src/app.js': `one ${++projects}\n`, 'src/lib.js': 'lib\n', 'src/notes.md': 'notes\n', 'run.sh': 'echo hi\n' });

test.serial('a file\'s content: the COPY names the file, the next step names the COPY', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  writeFileSync(join(ctx, 'src/app.js'), 'two\n');
  const out = await build(ctx);
  t.is(outcome(out, 'COPY src/ /app/'), 'cache miss: src/app.js content changed');
  t.is(outcome(out, 'COPY run.sh'), 'cache miss: earlier step "[2/4] COPY src/ /app/" changed');
  t.is(outcome(out, 'FROM busybox'), 'CACHED');
  t.regex(out, /#\d+ cache miss: src\/app\.js content changed \(since the build of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n/);
});

test.serial('a touch is a hit and says nothing', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  const later = new Date(Date.now() + 60_000);
  const { utimesSync } = await import('node:fs');
  utimesSync(join(ctx, 'src/app.js'), later, later);
  const out = await build(ctx);
  t.is(outcome(out, 'RUN cat'), 'CACHED');
  t.notRegex(out, /cache miss/);
});

test.serial('a file\'s mode', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  chmodSync(join(ctx, 'run.sh'), 0o644);
  await build(ctx);
  chmodSync(join(ctx, 'run.sh'), 0o755);
  const out = await build(ctx);
  t.is(outcome(out, 'COPY src/'), 'CACHED');
  t.is(outcome(out, 'COPY run.sh'), 'cache miss: mode of run.sh changed (644 → 755)');
});

test.serial('a file added and a file deleted under the copied directory', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  writeFileSync(join(ctx, 'src/new.js'), 'new\n');
  t.is(outcome(await build(ctx), 'COPY src/'), 'cache miss: added src/new.js');
  rmSync(join(ctx, 'src/lib.js'));
  t.is(outcome(await build(ctx), 'COPY src/'), 'cache miss: removed src/lib.js');
});

test.serial('many files changed are counted under their directory', async (t) => {
  const files: Record<string, string> = { Dockerfile: 'FROM busybox\nCOPY . /app/\n' };
  for (let i = 0; i < 6; i++) files[`lib/part/f${i}.js`] = `${i}\n`;
  const ctx = contextDir(files);
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  for (let i = 0; i < 5; i++) writeFileSync(join(ctx, `lib/part/f${i}.js`), `changed ${i}\n`);
  t.is(outcome(await build(ctx), 'COPY . /app/'), 'cache miss: 5 files under lib/part/ (5 changed: lib/part/f0.js, lib/part/f1.js, lib/part/f2.js, …)');
});

test.serial('a .dockerignore that excludes a copied file', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  writeFileSync(join(ctx, '.dockerignore'), 'src/notes.md\n');
  const out = await build(ctx);
  t.is(outcome(out, 'COPY src/'), 'cache miss: removed src/notes.md; .dockerignore patterns changed');
});

// TODO(issue 9): fails on this branch alone, where the checksum still hashes owners; the `correct`
// branch takes them out of COPY keys. Once both are merged this passes: make it test.serial then.
test.serial('the owner of a file is not part of a COPY key (BuildKit copies as 0:0): a hit', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  chownSync(join(ctx, 'src/app.js'), 1000, 1000);
  const out = await build(ctx);
  t.is(outcome(out, 'COPY src/'), 'CACHED');
  t.is(outcome(out, 'RUN cat'), 'CACHED');
});

test.serial('a build-arg a stage declares misses and is named; one no ARG declares is a hit', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nARG VERSION=1\nRUN echo $VERSION > /v\nRUN cat /v\n' });
  t.teardown(() => removeDir(ctx));
  await build(ctx, '--build-arg', 'VERSION=1');
  const unused = await build(ctx, '--build-arg', 'VERSION=1', '--build-arg', 'UNUSED=x');
  t.is(outcome(unused, 'RUN echo'), 'CACHED');
  t.notRegex(unused, /cache miss/);
  const used = await build(ctx, '--build-arg', 'VERSION=2');
  t.is(outcome(used, 'RUN echo'), 'cache miss: build-arg VERSION changed');
  t.is(outcome(used, 'RUN cat /v'), 'cache miss: build-arg VERSION changed; earlier step "[2/3] RUN echo $VERSION > /v" changed');
  t.false(used.includes('VERSION=2'), 'the value is not printed');
});

test.serial('a base image whose tag now names another digest', async (t) => {
  const base = contextDir({ Dockerfile: 'FROM busybox\nRUN echo 1 > /base\n' });
  const ctx = contextDir({ Dockerfile: 'FROM explain-base\nRUN cat /base\n' });
  t.teardown(() => [base, ctx].forEach(removeDir));
  await build(base, '-t', 'explain-base');
  await build(ctx);
  writeFileSync(join(base, 'Dockerfile'), 'FROM busybox\nRUN echo 2 > /base\n');
  await build(base, '-t', 'explain-base');
  const out = await build(ctx);
  t.regex(outcome(out, 'FROM explain-base'), /^cache miss: base image digest changed \(sha256:[0-9a-f]{12}… → sha256:[0-9a-f]{12}…\)$/);
  t.is(outcome(out, 'RUN cat /base'), 'cache miss: earlier step "[1/2] FROM explain-base" changed');
});

test.serial('--no-cache says so on every step that had a result', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  const out = await build(ctx, '--no-cache');
  t.is(outcome(out, 'COPY src/'), 'cache miss: cache disabled (--no-cache)');
  t.is(outcome(out, 'RUN cat'), 'cache miss: cache disabled (--no-cache)');
});

test.serial('--explain says why every step ran or was a hit; rawjson carries the reason', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  const first = await build(ctx, '--explain');
  t.is(outcome(first, 'COPY src/'), 'cache miss: no earlier build of this step in the cache');
  const again = await build(ctx, '--explain');
  const run = steps(again).find((s) => s.name.includes('RUN cat'))!;
  t.regex(run.lines.join('\n'), /^CACHED\ncached: same op, inputs and content as the build of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const copy = steps(again).find((s) => s.name.includes('COPY src/'))!;
  t.deepEqual(copy.lines, ['CACHED', 'cached: held by the cached result of a later step (not looked up)']);

  writeFileSync(join(ctx, 'src/app.js'), 'three\n');
  const r = await runTsbuild(['build', '--progress', 'rawjson', ctx], { root });
  t.is(r.code, 0, r.stderr);
  const started = parseRawJson(r.stderr).filter((e) => e.type === 'vertex.started');
  t.regex(started.find((e) => e.vertex?.name.includes('COPY src/'))?.reason ?? '', /^src\/app\.js content changed \(since the build of /);
});

test.serial('a step seen for the first time says nothing without --explain', async (t) => {
  const ctx = project();
  t.teardown(() => removeDir(ctx));
  t.notRegex(await build(ctx), /cache miss/);
});

test.serial('a line inserted above keeps the steps below the same steps: they name the new one', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY a.txt /a\nRUN cat /a\n', 'a.txt': `inserted ${++projects}\n` });
  t.teardown(() => removeDir(ctx));
  await build(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo new > /new\nCOPY a.txt /a\nRUN cat /a\n');
  const out = await build(ctx);
  t.is(outcome(out, 'RUN echo new'), 'ran', 'a new step: nothing to compare with');
  t.is(outcome(out, 'COPY a.txt /a'), 'cache miss: earlier step "[2/4] RUN echo new > /new" changed');
});
