// The engine's own contract, beyond what one build does: per-build I/O and its lifetime.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openEngine, parseOutputSpec, resolveBuildOptions } from '../../control/index.ts';
import type { ProgressEvent } from '../../src/progress/index.ts';
import { contextDir, removeDir, tempDir } from '../_support/tsbuild.ts';

test('a tar to stdout needs the caller\'s stdout: refused before anything runs when the build has none', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  try {
    const engine = await openEngine({ root });
    try {
      const events: ProgressEvent[] = [];
      const opts = resolveBuildOptions({ context: ctx, outputs: [parseOutputSpec('type=tar,dest=-')] });
      await t.throwsAsync(engine.build(opts, { progress: { emit: (e) => events.push({ ...e, time: 0 } as ProgressEvent) } }), { message: /dest=-: this build has no stdout/ });
      t.deepEqual(events, []);
      const chunks: Buffer[] = [];
      const { Writable } = await import('node:stream');
      const stdout = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
      await engine.build(opts, { progress: { emit() {} }, stdout });
      t.true(Buffer.concat(chunks).includes('a.txt'), 'the tar went to the stream given');
    } finally {
      await engine.close();
    }
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});

test('the engine holds one claim on the root from open to close; close is idempotent', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\n' });
  try {
    const engine = await openEngine({ root });
    t.is(readdirSync(join(root, 'workers')).length, 1);
    t.deepEqual(await engine.images(), []);
    t.is(readdirSync(join(root, 'workers')).length, 1, 'a listing claims nothing more');
    await Promise.all([engine.close(), engine.close()]);
    t.deepEqual(readdirSync(join(root, 'workers')), []);
    await t.throwsAsync(engine.build(resolveBuildOptions({ context: ctx }), { progress: { emit() {} } }), { message: /is closed/ });
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});

test('the worker choices given to the engine hold for its builds: the copying snapshotter, and each build says so', async (t) => {
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'a\n' });
  try {
    const engine = await openEngine({ root, worker: { snapshotter: 'copy' } });
    try {
      for (let i = 0; i < 2; i++) {
        const warnings: string[] = [];
        await engine.build(resolveBuildOptions({ context: ctx }), { progress: { emit: (e) => e.type === 'build.warning' && warnings.push(e.message) } });
        t.deepEqual(warnings, ['using the copying snapshotter, as asked: each step copies its parent filesystem']);
      }
    } finally {
      await engine.close();
    }
  } finally {
    removeDir(root);
    removeDir(ctx);
  }
});
