// `tsbuild check` and `tsbuild build --check` as a user runs them: violations printed with file,
// line, rule and description, exit 0 unless the Dockerfile cannot build or # check=error=true.
import test from 'ava';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-check-');
test.after.always(() => removeDir(root));

test('violations are printed and the exit code is 0', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox AS Build\nCMD serve\n' });
  const r = await runTsbuild(['check', ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes("Dockerfile:1: StageNameCasing: Stage name 'Build' should be lowercase\n  Stage names should be lowercase\n  1 | FROM busybox AS Build\n"));
  t.regex(r.stdout, /Dockerfile:2: JSONArgsRecommended: /);
  t.regex(r.stdout, /Check complete, 2 warnings have been found!\n$/);
  t.false(r.stdout.includes('http'), 'descriptions carry no links');
  removeDir(ctx);
});

test('# check=error=true makes violations fail, also through build --check, without building', async (t) => {
  const ctx = contextDir({ 'Dockerfile.dev': '# check=error=true\nFROM busybox\nENV A 1\n' });
  for (const args of [['check', '-f', `${ctx}/Dockerfile.dev`, ctx], ['build', '--check', '-f', `${ctx}/Dockerfile.dev`, ctx]]) {
    const r = await runTsbuild(args, { root });
    t.is(r.code, 1);
    t.regex(r.stdout, /Dockerfile.dev:3: LegacyKeyValueFormat: /);
    t.regex(r.stderr, /ERROR: Dockerfile.dev: lint violation found for rules: LegacyKeyValueFormat/);
    t.notRegex(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  }
  removeDir(ctx);
});

test('a Dockerfile that cannot build fails the check with the located error', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox AS builder\nFROM busybox\nCOPY --from=buidler /x /x\n' });
  const r = await runTsbuild(['check', ctx], { root });
  t.is(r.code, 1);
  t.regex(r.stderr, /ERROR: Dockerfile:3:13: stage "buidler" not found\n(.*\n){3}>>> 3 \| COPY --from=buidler \/x \/x\n +\| {13}\^/);
  t.regex(r.stderr, /hint: did you mean "builder"\?/);
  removeDir(ctx);
});

test('a clean Dockerfile passes; --target limits instruction checks to what it needs', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox AS app\nCMD ["serve"]\nFROM busybox AS other\nCMD serve\n' });
  const clean = await runTsbuild(['check', '--target', 'app', ctx], { root });
  t.is(clean.code, 0, clean.stderr);
  t.is(clean.stdout, 'Check complete, no warnings found.\n');
  const all = await runTsbuild(['check', ctx], { root });
  t.regex(all.stdout, /Dockerfile:4: JSONArgsRecommended/);
  removeDir(ctx);
});
