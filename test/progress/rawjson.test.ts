// `--progress rawjson` is buildx's stream: every stderr line one JSON SolveStatus (BuildKit's
// client/graph.go field names, []byte fields base64, times RFC 3339), nothing else on that stream,
// so a tool reading `docker buildx build --progress=rawjson` reads ours. A failed build's report is
// one more JSON line; a step stopped because its sibling failed says "context canceled", which
// buildx's printers show as CANCELED.
import test from 'ava';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { solveStatuses } from '../_support/rawjson.ts';

const root = tempDir('tsbuild-rawjson-');
test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => removeDir(root));

const digest = /^sha256:[0-9a-f]{64}$/;
const time = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const keys: Record<string, readonly string[]> = {
  vertexes: ['digest', 'inputs', 'name', 'started', 'completed', 'cached', 'error', 'progressGroup', 'reason'],
  statuses: ['id', 'vertex', 'name', 'total', 'current', 'timestamp', 'started', 'completed'],
  logs: ['vertex', 'stream', 'data', 'timestamp'],
  warnings: ['vertex', 'level', 'short', 'detail', 'url', 'sourceInfo', 'range'],
};

/** Every line a SolveStatus whose records have buildx's fields and types only. */
function checkShape(t: import('ava').ExecutionContext, stderr: string) {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.true(lines.length > 0);
  for (const line of lines) {
    const o = JSON.parse(line) as Record<string, unknown[]>;
    t.true(typeof o === 'object' && o !== null && !Array.isArray(o), line);
    for (const [field, records] of Object.entries(o)) {
      if (field === 'error') continue;
      t.truthy(keys[field], `unknown SolveStatus field ${field}`);
      for (const r of records as Record<string, unknown>[]) {
        for (const k of Object.keys(r)) t.true(keys[field].includes(k), `${field}: unknown field ${k}`);
        if (field === 'vertexes') {
          t.regex(r.digest as string, digest);
          for (const k of ['started', 'completed'] as const) if (r[k] !== undefined) t.regex(r[k] as string, time);
        } else {
          t.regex((r.vertex as string | undefined) ?? 'sha256:' + '0'.repeat(64), digest);
          if (field !== 'warnings') t.regex(r.timestamp as string, time);
        }
      }
    }
  }
}

test('a build: vertexes, statuses, base64 logs and warnings, as buildx writes them, and nothing else', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt && echo to-stderr >&2\nCMD cat /a.txt\n', 'a.txt': 'from the context\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'rawjson', '-t', 'raw', ctx], { root });
    t.is(r.code, 0, r.stderr);
    checkShape(t, r.stderr);
    t.notRegex(r.stderr, /Built|WARNING/, 'the human summary is not on the JSON stream');
    const statuses = solveStatuses(r.stderr);
    const vertexes = statuses.flatMap((s) => s.vertexes ?? []);
    const run = vertexes.filter((v) => v.name === '[3/3] RUN cat /a.txt && echo to-stderr >&2');
    t.is(run.length, 2, 'started, then completed');
    t.truthy(run[0].started);
    t.is(run[0].completed, undefined);
    t.true(Date.parse(run[1].completed!) >= Date.parse(run[1].started!));
    t.is(run[1].digest, run[0].digest);
    const logs = statuses.flatMap((s) => s.logs ?? []).filter((l) => l.vertex === run[0].digest);
    t.is(logs.filter((l) => l.stream === 1).map((l) => Buffer.from(l.data, 'base64').toString()).join(''), 'from the context\n');
    t.is(logs.filter((l) => l.stream === 2).map((l) => Buffer.from(l.data, 'base64').toString()).join(''), 'to-stderr\n');
    t.true(vertexes.some((v) => v.name === '[internal] load build context' && v.completed !== undefined));
    const transfer = statuses.flatMap((s) => s.statuses ?? []).find((s) => s.id === 'transferring context:' && s.current === 17);
    t.truthy(transfer, 'the context read: 17 bytes');
    t.truthy(transfer?.completed);
    const exportSteps = statuses.flatMap((s) => s.statuses ?? []).map((s) => s.id);
    t.true(exportSteps.includes('exporting layers'));
    t.true(exportSteps.includes('naming to docker.io/library/raw:latest'));
    const warnings = statuses.flatMap((s) => s.warnings ?? []);
    t.deepEqual(warnings.map((w) => Buffer.from(w.short!, 'base64').toString()), ['JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals']);
    t.deepEqual(warnings[0].range, [{ start: { line: 4 }, end: { line: 4 } }]);

    const again = await runTsbuild(['build', '--progress', 'rawjson', '-t', 'raw', ctx], { root });
    t.is(again.code, 0, again.stderr);
    const cached = solveStatuses(again.stderr).flatMap((s) => s.vertexes ?? []).filter((v) => v.cached);
    t.deepEqual(cached.map((v) => v.name), ['[1/3] FROM busybox', '[2/3] COPY a.txt /a.txt', '[3/3] RUN cat /a.txt && echo to-stderr >&2']);
    for (const v of cached) t.is(v.started, v.completed);
  } finally {
    removeDir(ctx);
  }
});

test('a failed build: the error on its vertex, "context canceled" on the sibling, the report as a last JSON line', async (t) => {
  const ctx = contextDir({
    Dockerfile: 'FROM busybox AS slow\nRUN sleep 5\nFROM busybox AS bad\nRUN sleep 0.5; exit 3\nFROM busybox\nCOPY --from=slow /etc/passwd /a\nCOPY --from=bad /etc/passwd /b\n',
  });
  try {
    const r = await runTsbuild(['build', '--progress', 'rawjson', ctx], { root });
    t.is(r.code, 1, r.stderr);
    checkShape(t, r.stderr);
    const statuses = solveStatuses(r.stderr);
    const vertexes = statuses.flatMap((s) => s.vertexes ?? []);
    t.regex(vertexes.find((v) => v.name === '[bad 2/2] RUN sleep 0.5; exit 3' && v.error)?.error ?? '', /exit code: 3/);
    t.is(vertexes.find((v) => v.name === '[slow 2/2] RUN sleep 5' && v.completed)?.error, 'context canceled');
    const last = statuses.at(-1) as { error?: { code: string; message: string; report: string } };
    t.regex(last.error?.message ?? '', /exit code: 3/);
    t.regex(last.error?.report ?? '', /^ERROR: Dockerfile:4: /);
  } finally {
    removeDir(ctx);
  }
});
