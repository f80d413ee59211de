// A step's reason (why it runs although the cache knew it, or with --explain why it was a hit) is
// shown on the step itself by every renderer, as BuildKit shows CACHED.
import test from 'ava';
import { PassThrough } from 'node:stream';
import { createProgress, type ProgressMode } from '../../src/progress/index.ts';

async function render(mode: ProgressMode, tty = false): Promise<string> {
  const out = Object.assign(new PassThrough(), tty ? { isTTY: true, rows: 40, columns: 120 } : {});
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const p = await createProgress(mode, out);
  const copy = { digest: 'sha256:c', name: '[2/3] COPY src/ /app/' };
  const run = { digest: 'sha256:r', name: '[3/3] RUN make' };
  p.emit({ type: 'vertex.cached', vertex: run, reason: 'same op, inputs and content as the build of 2026-12-03 10:00:00' });
  p.emit({ type: 'vertex.started', vertex: copy, reason: 'src/app.js content changed (since the build of 2026-12-03 10:00:00)' });
  p.emit({ type: 'vertex.done', vertex: copy });
  p.close();
  return text;
}

test('plain: a line under the step name, after CACHED for a hit', async (t) => {
  const text = await render('plain');
  t.regex(text, /#1 \[3\/3\] RUN make\n#1 CACHED\n#1 cached: same op, inputs and content as the build of 2026-12-03 10:00:00\n/);
  t.regex(text, /#2 \[2\/3\] COPY src\/ \/app\/\n#2 cache miss: src\/app\.js content changed \(since the build of 2026-12-03 10:00:00\)\n#2 DONE/);
});

test('tty: a dim line under the step', async (t) => {
  const text = (await render('tty', true)).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  t.regex(text, / => \[2\/3\] COPY src\/ \/app\/ +\d+\.\ds\n => => cache miss: src\/app\.js content changed/);
  t.regex(text, / => CACHED \[3\/3\] RUN make +0\.0s\n => => cached: same op/);
});

test('rawjson: the reason is an extra field of the vertex', async (t) => {
  const lines = (await render('rawjson')).trim().split('\n').map((l) => JSON.parse(l) as { vertexes: { name: string; cached?: boolean; completed?: string; reason?: string }[] });
  t.deepEqual(lines.map((l) => l.vertexes.map((v) => [v.name, v.cached ?? false, v.completed !== undefined, v.reason])), [
    [['[3/3] RUN make', true, true, 'same op, inputs and content as the build of 2026-12-03 10:00:00']],
    [['[2/3] COPY src/ /app/', false, false, 'src/app.js content changed (since the build of 2026-12-03 10:00:00)']],
    [['[2/3] COPY src/ /app/', false, true, undefined]],
  ]);
});

test('plain: a reason naming a file with a newline stays one line', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const p = await createProgress('plain', out);
  p.emit({ type: 'vertex.started', vertex: { digest: 'sha256:c', name: 'COPY . /' }, reason: 'added x\n#1 DONE 0.1s' });
  p.close();
  t.is(text, '#1 COPY . /\n#1 cache miss: added x\\n#1 DONE 0.1s\n');
});

test('plain: a step another build is running says so once, then comes as CACHED', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const p = await createProgress('plain', out);
  const run = { digest: 'sha256:w', name: '[2/2] RUN make' };
  for (let i = 0; i < 3; i++) p.emit({ type: 'vertex.progress', vertex: run, id: 'shared', current: 0, total: 1, label: 'waiting for another build running this step' });
  p.emit({ type: 'vertex.cached', vertex: run });
  p.close();
  t.is(text.match(/waiting for another build/g)?.length, 1);
  t.is(text, '#1 [2/2] RUN make\n#1 waiting for another build running this step\n#1 CACHED\n');
});
