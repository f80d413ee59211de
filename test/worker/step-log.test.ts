// The step log on its own: where progress is cut, text split inside a character, the pruning bound.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgressEvent } from '../../src/progress/index.ts';
import { logRetention, openStepLog, progressLimit, pruneStepLogs } from '../../worker/exec/step-log.ts';
import type { RunContext } from '../../worker/index.ts';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-steplog-'));
  const events: ProgressEvent[] = [];
  const ctx: RunContext = {
    vertex: { digest: 'sha256:v', name: 'RUN x' },
    progress: { emit: (e) => events.push({ ...e, time: 0 } as ProgressEvent) },
    signal: new AbortController().signal,
  };
  const shown = () => events.filter((e): e is Extract<ProgressEvent, { type: 'vertex.log' }> => e.type === 'vertex.log').map((e) => e.data).join('');
  return { dir, ctx, shown, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('progress stops at the last whole line under the limit; the file keeps everything', async (t) => {
  const { dir, ctx, shown, cleanup } = setup();
  try {
    const log = await openStepLog({ dir, name: 'k', ctx });
    const line = `${'x'.repeat(99)}\n`;
    const chunk = Buffer.from(line.repeat(1000));
    const total = Math.ceil((progressLimit * 1.5) / chunk.length);
    for (let i = 0; i < total; i++) log.write(i % 2 ? 'stderr' : 'stdout', chunk);
    await log.close();
    const text = shown();
    const [body, notice] = text.split('[output clipped');
    t.true(body.length <= progressLimit && body.length > progressLimit - 100, `${body.length}`);
    t.true(body.endsWith('\n'));
    t.regex(notice, new RegExp(`the full log is in ${join(dir, 'k.log')}\\]\\n$`));
    t.is(readFileSync(join(dir, 'k.log')).length, total * chunk.length);
  } finally {
    cleanup();
  }
});

test('a character split across two chunks is shown whole', async (t) => {
  const { dir, ctx, shown, cleanup } = setup();
  try {
    const log = await openStepLog({ dir, name: 'k', ctx });
    const bytes = Buffer.from('grüße\n');
    log.write('stdout', bytes.subarray(0, 3));
    log.write('stdout', bytes.subarray(3));
    await log.close();
    t.is(shown(), 'grüße\n');
    t.is(readFileSync(join(dir, 'k.log'), 'utf8'), 'grüße\n');
  } finally {
    cleanup();
  }
});

test('pruning keeps the newest logs up to the bound and drops those older than the age limit', async (t) => {
  const { dir, cleanup } = setup();
  try {
    const now = Date.now();
    const count = logRetention.files + 5;
    for (let i = 0; i < count; i++) {
      const p = join(dir, `${String(i).padStart(5, '0')}.log`);
      writeFileSync(p, 'x');
      // file i is i minutes old
      const at = (now - i * 60_000) / 1000;
      utimesSync(p, at, at);
    }
    const old = join(dir, 'ancient.log');
    writeFileSync(old, 'x');
    const longAgo = (now - logRetention.maxAgeMs - 1000) / 1000;
    utimesSync(old, longAgo, longAgo);
    writeFileSync(join(dir, 'not-a-log.txt'), 'x');

    t.is(await pruneStepLogs(dir, now), 6);
    const left = readdirSync(dir);
    t.is(left.length, logRetention.files + 1);
    t.true(left.includes('00000.log'));
    t.false(left.includes(`${String(count - 1).padStart(5, '0')}.log`), 'the oldest beyond the bound went');
    t.false(left.includes('ancient.log'));
    t.true(left.includes('not-a-log.txt'), 'only logs are touched');
    t.is(await pruneStepLogs(join(dir, 'missing')), 0);
  } finally {
    cleanup();
  }
});
