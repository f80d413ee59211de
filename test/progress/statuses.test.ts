// Status lines under a step (a blob pulled, the context read, the export's sub-steps) as buildx
// shows them: plain writes a finished one once, with bytes and time; tty shows one under way with
// its bytes and speed, redrawn in place.
import test from 'ava';
import { PassThrough } from 'node:stream';
import { createProgress, formatBytes } from '../../src/progress/index.ts';

function capture(tty: boolean) {
  const out = Object.assign(new PassThrough(), tty ? { isTTY: true, rows: 40, columns: 120 } : {});
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

const pull = { digest: 'sha256:p', name: '[1/2] FROM docker.io/library/app:1' };

test('bytes as BuildKit writes them: decimal units, two decimals from 1 kB', (t) => {
  t.deepEqual([0, 38, 999, 1000, 1234, 12_345_678, 2_500_000_000].map(formatBytes), ['0B', '38B', '999B', '1.00kB', '1.23kB', '12.35MB', '2.50GB']);
});

test('plain: a blob is one line once whole, with bytes and time; the parts before are not shown', async (t) => {
  const c = capture(false);
  const p = await createProgress('plain', c.out);
  const started = Date.now() - 400;
  p.emit({ type: 'vertex.started', vertex: pull });
  p.emit({ type: 'vertex.progress', vertex: pull, id: 'sha256:abc', label: 'sha256:abc', current: 600_000, total: 1_200_000, unit: 'bytes', started });
  p.emit({ type: 'vertex.progress', vertex: pull, id: 'sha256:abc', label: 'sha256:abc', current: 1_200_000, total: 1_200_000, unit: 'bytes', started, completed: started + 400 });
  p.emit({ type: 'vertex.done', vertex: pull });
  p.close();
  t.regex(c.text(), /^#1 \[1\/2\] FROM docker\.io\/library\/app:1\n#1 sha256:abc 1\.20MB \/ 1\.20MB 0\.4s done\n#1 DONE \d\.\ds\n$/);
});

test('tty: a transfer under way shows its bytes and speed under the step, a finished one its time', async (t) => {
  const c = capture(true);
  const p = await createProgress('tty', c.out);
  const started = Date.now() - 2000;
  p.emit({ type: 'vertex.started', vertex: pull });
  p.emit({ type: 'vertex.progress', vertex: pull, id: 'sha256:abc', label: 'sha256:abc', current: 2_000_000, total: 4_000_000, unit: 'bytes', started });
  p.emit({ type: 'vertex.progress', vertex: pull, id: 'exporting layers', current: 0, started, completed: started + 300 });
  await new Promise((r) => setTimeout(r, 250));
  const mid = c.text();
  t.regex(mid, / => => sha256:abc 2\.00MB \/ 4\.00MB (9\d\d\.\d\dkB|1\.\d\dMB)\/s +2\.\ds\n/);
  t.regex(mid, / => => exporting layers +0\.3s/);
  p.close();
  t.regex(c.text(), /\[\+\] Building \d+\.\ds \(1\/1\) FINISHED\n => CANCELED \[1\/2\] FROM/, 'a step still under way when the output ends was stopped');
});
