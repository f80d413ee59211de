// Stage references: loops are refused up front, naming the stage and where the loop closes.
import test from 'ava';
import { build, rejects } from './_build.ts';

test('a stage copying from itself is a circular dependency', async (t) => {
  const e = await rejects(t, 'FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\n', 'Dockerfile:2: circular dependency detected on stage: stage0');
  t.is(e.location?.line, 2);
  t.is(e.location?.text, 'COPY --from=stage0 f1 /sub/');
});

test('a loop through several stages names the first stage and each step of the loop', async (t) => {
  const df = 'FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\nFROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\nFROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\n';
  const e = await rejects(t, df, 'Dockerfile:2: circular dependency detected on stage: stage0');
  t.deepEqual(e.notes.map((n) => n.location?.line), [6, 4]);
});

test('loops through FROM, RUN --mount and stage indexes are found too', async (t) => {
  await rejects(t, 'FROM busybox AS a\nRUN --mount=from=b,target=/b true\nFROM a AS b\n', 'Dockerfile:2: circular dependency detected on stage: a');
  await rejects(t, 'FROM busybox\nCOPY --from=0 /x /x\n', 'Dockerfile:2: circular dependency detected on stage: stage-0');
});

test('references without a loop still build, even to unbuilt stages', async (t) => {
  const def = await build('FROM busybox AS a\nRUN a\nFROM a AS b\nCOPY --from=a /x /x\nFROM b\nRUN --mount=from=a,target=/a true\n');
  t.truthy(def.root);
});

test('unknown stages say which exist and suggest the closest', async (t) => {
  const e = await rejects(t, 'FROM busybox AS builder\nFROM busybox\nCOPY --from=buidler /x /x\n', 'Dockerfile:3:13: stage "buidler" not found');
  t.is(e.hint, 'did you mean "builder"?');
  const target = await t.throwsAsync(build('FROM busybox AS builder\nFROM busybox\n', { target: 'buidler' }));
  t.is(target?.message, 'stage "buidler" not found');
  t.is((target as { hint?: string }).hint, 'did you mean "builder"?');
  const mount = await rejects(t, 'FROM busybox AS builder\nFROM busybox\nRUN --mount=from=buildr,target=/b true\n', 'Dockerfile:3:18: stage "buildr" not found');
  t.is(mount.hint, 'did you mean "builder"?');
});

test('# syntax= is noted: the built-in frontend is used', async (t) => {
  const def = await build('# syntax=docker/dockerfile:1.7\nFROM busybox\n');
  t.deepEqual(def.warnings, [{ message: '# syntax=docker/dockerfile:1.7: the built-in Dockerfile frontend is used; frontend images are not run', location: { file: 'Dockerfile', line: 1, text: '# syntax=docker/dockerfile:1.7' } }]);
});

test('FROM a misspelt stage: the image lookup error suggests the stage', async (t) => {
  const { notFound, ErrorCodes } = await import('../../src/errors/index.ts');
  const e = await t.throwsAsync(build('FROM busybox AS builder\nFROM buidler\n', {
    resolveImage: async (ref) => {
      throw notFound(ErrorCodes.IMAGE_NOT_FOUND, `image ${ref} not found`);
    },
  }));
  t.is((e as { hint?: string }).hint, 'did you mean the stage "builder"?');
  t.is((e as { location?: { line: number } }).location?.line, 2);
});

test('a stage name used twice is accepted with a warning: FROM takes the latest so far, --from and --target the last', async (t) => {
  const df = 'FROM busybox AS a\nLABEL which=first\nFROM a AS a\nLABEL second=yes\nFROM busybox\nCOPY --from=a /x /x\nFROM busybox AS a\nLABEL which=third\n';
  const def = await build(df, { target: 'a' });
  t.is(def.config.config.Labels?.which, 'third');
  t.true(def.warnings.some((w) => w.message.includes('DuplicateStageName') && w.location?.line === 3));
  const second = await build(df.replace('FROM busybox AS a\nLABEL which=third\n', ''), { target: 'a' });
  t.deepEqual(second.config.config.Labels, { which: 'first', second: 'yes' });
});
