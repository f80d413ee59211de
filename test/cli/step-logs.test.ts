// Step logs (issue 6 "Steps and their logs"): a RUN's whole output is kept in the state root,
// progress shows at most 2 MiB of it and then says where the rest is, and a failed step's error
// names its log.
import test from 'ava';
import { readFileSync, statSync } from 'node:fs';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { parseRawJson } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-steplogs-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const MiB = 1024 * 1024;
// 3 MiB in 1 KiB lines: 1,023 letters and a newline each, a's for the first 2 MiB, b's after
const chatty = 'FROM busybox\nRUN i=0; a=$(head -c 1023 /dev/zero | tr "\\\\0" a); b=$(head -c 1023 /dev/zero | tr "\\\\0" b); while [ $i -lt 3072 ]; do if [ $i -lt 2048 ]; then echo $a; else echo $b; fi; i=$((i+1)); done\n';
const expected = `${'a'.repeat(1023)}\n`.repeat(2048) + `${'b'.repeat(1023)}\n`.repeat(1024);
const clipNotice = /\[output clipped: progress shows 2 MiB per step; the full log is in (\S+\.log)\]/;

test.serial('a RUN printing 3 MiB shows at most 2 MiB and a notice in --progress plain; the log file has all 3 MiB', async (t) => {
  const ctx = contextDir({ Dockerfile: chatty });
  try {
    const r = await runTsbuild(['build', '--no-cache', '--progress', 'plain', ctx], { root });
    t.is(r.code, 0, r.stderr.slice(-2000));
    const shown = r.stderr.split('\n').filter((l) => /^#\d+ [\d.]+ [ab]+$/.test(l)).map((l) => l.replace(/^#\d+ [\d.]+ /, ''));
    const shownBytes = shown.reduce((n, l) => n + l.length + 1, 0);
    t.true(shownBytes <= 2 * MiB, `${shownBytes} bytes of output shown`);
    t.true(shownBytes > 2 * MiB - 2048, `${shownBytes} bytes of output shown: the limit, not less`);
    t.false(shown.some((l) => l.startsWith('b')), 'nothing past the limit is shown');
    const notices = r.stderr.split('\n').filter((l) => clipNotice.test(l));
    t.is(notices.length, 1, 'one notice');
    const logPath = clipNotice.exec(notices[0])![1];
    t.true(logPath.startsWith(`${root}/logs/`), logPath);
    t.is(readFileSync(logPath, 'utf8'), expected, 'the log holds every byte, in order');
    t.is(statSync(logPath).mode & 0o777, 0o600);
    t.is(statSync(`${root}/logs`).mode & 0o777, 0o700);
  } finally {
    removeDir(ctx);
  }
});

test.serial('--progress rawjson carries the same 2 MiB and the notice', async (t) => {
  const ctx = contextDir({ Dockerfile: chatty });
  try {
    const r = await runTsbuild(['build', '--no-cache', '--progress', 'rawjson', ctx], { root });
    t.is(r.code, 0, r.stderr.slice(-2000));
    const logs = parseRawJson(r.stderr)
      .filter((e) => e.type === 'vertex.log' && e.vertex?.name.includes('RUN'));
    const text = logs.map((e) => e.data).join('');
    const notice = clipNotice.exec(text);
    t.truthy(notice);
    const before = Buffer.byteLength(text.slice(0, notice!.index));
    // said in full when it fails: one failure in a loaded full run was not reproducible alone
    t.true(before <= 2 * MiB, `${before} bytes before the notice in ${logs.length} events from ${new Set(logs.map((e) => e.vertex?.name)).size} vertices`);
    t.is(readFileSync(notice![1], 'utf8').length, 3 * MiB);
  } finally {
    removeDir(ctx);
  }
});

test.serial('a failing RUN\'s error names the file with its full output', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo to-stdout; echo to-stderr >&2; exit 3\n' });
  try {
    const r = await runTsbuild(['build', '--no-cache', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /exit code: 3/);
    const m = /^note: the full output is in (\S+\.log)$/m.exec(r.stderr);
    t.truthy(m, r.stderr);
    t.true(m![1].startsWith(`${root}/logs/`));
    // the two pipes are read as they come: their order in the file is not promised
    t.deepEqual(readFileSync(m![1], 'utf8').split('\n').sort(), ['', 'to-stderr', 'to-stdout']);
  } finally {
    removeDir(ctx);
  }
});
