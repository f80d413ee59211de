// RUN --mount=type=secret,env=NAME with real runc: the value is in the command's environment, as
// a file only when a target is given too, and on no disk while the step runs (config.json, which
// holds the environment, is written to a tmpfs) nor in the layer after.
import test from 'ava';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import type { ExecMount, SecretMount } from '../../src/llb/index.ts';
import { layerEntries, run, withWorker } from './_setup.ts';

const value = 'env-secret-4b1d9c';
const secretMount = (extra: Partial<SecretMount>): SecretMount => ({ type: 'secret', id: 'tok', required: false, mode: 0o400, uid: 0, gid: 0, ...extra });
const mounts = (...m: ExecMount[]): ExecMount[] => [{ type: 'root', input: 0 }, ...m];

/** Files on the state root's own filesystem (as `find -xdev`: mounts below it are not disk) that hold `text`. */
function onDisk(root: string, text: string): string[] {
  const dev = statSync(root).dev;
  const hits: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const s = lstatSync(p);
      if (s.dev !== dev) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(text)) hits.push(p);
    }
  };
  walk(root);
  return hits;
}

test('env= puts the value in the variable only; with target= also in the file; an earlier value is replaced', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const ctx = { ...w.ctx, secrets: new Map([['tok', Buffer.from(value)]]) };
    const script = [
      `test "$TOKEN" = ${value}`,
      `test "$BOTH" = ${value}`,
      `test "$(cat /etc/both)" = ${value}`,
      '! test -e /run/secrets/tok',
      'test -z "${ABSENT+set}"',
      'env | grep -c "^TOKEN=" > /count',
    ].join(' && ');
    const op = run(script, {
      env: ['TOKEN=from-the-dockerfile'],
      mounts: mounts(secretMount({ env: 'TOKEN' }), secretMount({ env: 'BOTH', target: '/etc/both' }), secretMount({ id: 'absent', env: 'ABSENT' })),
    });
    const id = await w.worker.run(op, [{ type: 'snapshot', id: base }], ctx);
    t.is(readFileSync(join(w.root, 'snapshots', id, 'fs/count'), 'utf8').trim(), '1');
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), ['count']);
    t.deepEqual(onDisk(w.root, value), []);
  }));

test('while the step runs, the value is on no disk of the state root', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const ctx = { ...w.ctx, secrets: new Map([['tok', Buffer.from(value)]]) };
    let running = true;
    const exec = w.worker.run(run(`test "$TOKEN" = ${value} && touch /started && sleep 1`, { mounts: mounts(secretMount({ env: 'TOKEN' })) }), [{ type: 'snapshot', id: base }], ctx).finally(() => (running = false));
    const seen: string[] = [];
    let scans = 0;
    while (running) {
      seen.push(...onDisk(w.root, value));
      scans++;
      await new Promise((r) => setTimeout(r, 50));
    }
    await exec;
    t.true(scans > 5, `scanned ${scans} times while it ran`);
    t.deepEqual([...new Set(seen)], []);
  }));

test('a required env secret that was not given is a clear error; a NUL byte or a huge value cannot go to the environment', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const missing = await t.throwsAsync(w.worker.run(run('true', { mounts: mounts(secretMount({ env: 'TOKEN', required: true })) }), [{ type: 'snapshot', id: base }], w.ctx));
    t.is(missing?.message, 'secret "tok" is required by a RUN --mount but was not given');
    const ctx = { ...w.ctx, secrets: new Map([['tok', Buffer.from('a\0b')]]) };
    const nul = await t.throwsAsync(w.worker.run(run('true', { mounts: mounts(secretMount({ env: 'TOKEN' })) }), [{ type: 'snapshot', id: base }], ctx));
    t.true(isTsbuildError(nul) && nul.code === 'OPTION_INVALID');
    t.is(nul?.message, 'secret "tok" cannot go to the environment variable TOKEN: it holds a NUL byte');
    const big = { ...w.ctx, secrets: new Map([['tok', Buffer.alloc(200 * 1024, 'x')]]) };
    const tooBig = await t.throwsAsync(w.worker.run(run('true', { mounts: mounts(secretMount({ env: 'TOKEN' })) }), [{ type: 'snapshot', id: base }], big));
    t.is(tooBig?.message, 'secret "tok" is too large for the environment variable TOKEN: 204800 bytes, and the kernel takes at most 128 KiB per variable');
  }));

test('a large value full of control bytes fits, in several variables at once', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const big = Buffer.alloc(100 * 1024, 1);
    const ctx = { ...w.ctx, secrets: new Map([['tok', big]]) };
    const op = run('for v in "$A" "$B" "$C"; do printf %s "$v" | wc -c; done > /sizes', {
      mounts: mounts(secretMount({ env: 'A' }), secretMount({ env: 'B' }), secretMount({ env: 'C', target: '/run/c' })),
    });
    const id = await w.worker.run(op, [{ type: 'snapshot', id: base }], ctx);
    t.deepEqual(readFileSync(join(w.root, 'snapshots', id, 'fs/sizes'), 'utf8').split('\n').filter(Boolean).map(Number), [big.length, big.length, big.length]);
  }));
