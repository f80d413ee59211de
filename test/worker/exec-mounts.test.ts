import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import type { ExecMount, ExecOp } from '../../src/llb/index.ts';
import { contextDir } from './_copy.ts';
import { createTestWorker, layerEntries, run, type TestWorker } from './_setup.ts';

async function withWorker(fn: (w: TestWorker, base: string) => Promise<void>) {
  const w = await createTestWorker();
  try {
    await fn(w, await w.busybox());
  } finally {
    await w.cleanup();
  }
}

const withMounts = (script: string, mounts: ExecMount[]): ExecOp => run(script, { mounts: [{ type: 'root', input: 0 }, ...mounts] });
const names = async (w: TestWorker, id: string) => (await layerEntries(w, id)).map((e) => e.name.replace(/\/$/, ''));
const secretMount = (id: string, extra: Partial<Extract<ExecMount, { type: 'secret' }>> = {}): ExecMount => ({ type: 'secret', id, target: `/run/secrets/${id}`, required: false, mode: 0o400, uid: 0, gid: 0, ...extra });

test('secrets are readable files on a tmpfs, with their mode and owner, and never in the layer', (t) =>
  withWorker(async (w, base) => {
    const ctx = { ...w.ctx, secrets: new Map([['tok', Buffer.from('s3cret')], ['npmrc', Buffer.from('//reg/:_authToken=x')]]) };
    const id = await w.worker.run(
      withMounts('test "$(cat /run/secrets/tok)" = s3cret && stat -c "%a %u:%g" /run/secrets/tok /etc/npmrc > /modes && ! test -e /run/secrets/absent', [
        secretMount('tok'),
        secretMount('npmrc', { target: '/etc/npmrc', mode: 0o440, uid: 1000, gid: 1000 }),
        secretMount('absent'),
      ]),
      [{ type: 'snapshot', id: base }],
      ctx,
    );
    t.is(readFileSync(join(w.root, 'snapshots', id, 'fs/modes'), 'utf8'), '400 0:0\n440 1000:1000\n');
    t.deepEqual(await names(w, id), ['modes'], 'no /run/secrets, no /etc/npmrc in the layer');
  }));

test('a required secret or ssh agent that was not given is a clear error', (t) =>
  withWorker(async (w, base) => {
    const e = await t.throwsAsync(w.worker.run(withMounts('true', [secretMount('token', { required: true })]), [{ type: 'snapshot', id: base }], w.ctx));
    t.true(isTsbuildError(e) && e.code === 'OPTION_INVALID');
    t.is(e?.message, 'secret "token" is required by a RUN --mount but was not given');
    const ssh = await t.throwsAsync(w.worker.run(withMounts('true', [{ type: 'ssh', id: 'default', target: '/run/ssh', required: true, mode: 0o600, uid: 0, gid: 0 }]), [{ type: 'snapshot', id: base }], w.ctx));
    t.is(ssh?.message, 'ssh agent "default" is required by a RUN --mount=type=ssh but was not given');
    t.true(isTsbuildError(ssh) && ssh.hint?.includes('--ssh default') === true);
  }));

test('a cache mount persists across runs and stays out of the layer; tmpfs too', (t) =>
  withWorker(async (w, base) => {
    const op = withMounts('echo x >> /root/.cache/log && wc -l < /root/.cache/log > /count && echo t > /scratch/t', [
      { type: 'cache', id: 'pkgs', target: '/root/.cache', sharing: 'shared', mode: 0o700 },
      { type: 'tmpfs', target: '/scratch', size: 1 << 20 },
    ]);
    await w.worker.run(op, [{ type: 'snapshot', id: base }], w.ctx);
    const id = await w.worker.run(op, [{ type: 'snapshot', id: base }], w.ctx);
    t.is(readFileSync(join(w.root, 'snapshots', id, 'fs/count'), 'utf8').trim(), '2');
    t.deepEqual(await names(w, id), ['count']);
  }));

test('cache sharing: locked runs one at a time, private gets its own dir while the id is in use', (t) =>
  withWorker(async (w, base) => {
    const cache = (sharing: 'locked' | 'private' | 'shared'): ExecMount => ({ type: 'cache', id: `c-${sharing}`, target: '/c', sharing });
    // with the lock, nobody ever sees the other's marker dir
    const locked = withMounts('mkdir /c/busy || exit 3; sleep 0.4; rmdir /c/busy', [cache('locked')]);
    await Promise.all([0, 1].map(() => w.worker.run(locked, [{ type: 'snapshot', id: base }], w.ctx)));
    t.pass();
    // a shared cache as a channel, so both hold the private id at once however slow the machine
    const chan: ExecMount = { type: 'cache', id: 'chan', target: '/chan', sharing: 'shared' };
    const wait = (f: string) => `i=0; while ! test -e /chan/${f} && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done;`;
    const writer = withMounts(`echo mine > /c/marker; touch /chan/w; ${wait('r')}`, [cache('private'), chan]);
    const reader = withMounts(`${wait('w')} (test -e /c/marker && echo seen || echo unseen) > /result; touch /chan/r`, [cache('private'), chan]);
    const [, r] = await Promise.all([w.worker.run(writer, [{ type: 'snapshot', id: base }], w.ctx), w.worker.run(reader, [{ type: 'snapshot', id: base }], w.ctx)]);
    t.is(readFileSync(join(w.root, 'snapshots', r, 'fs/result'), 'utf8'), 'unseen\n');
  }));

test('a bind of a local context honours .dockerignore and rw writes never reach the context', (t) =>
  withWorker(async (w, base) => {
    const dir = contextDir({ 'src/a.txt': 'A', 'src/.env': 'SECRET', 'other': 'o' });
    try {
      const id = await w.worker.run(
        withMounts('test "$(cat /ctx/a.txt)" = A && ! test -e /ctx/.env && echo changed > /ctx/a.txt && cat /ctx/a.txt > /seen', [{ type: 'bind', target: '/ctx', input: 1, source: '/src', readonly: false }]),
        [{ type: 'snapshot', id: base }, { type: 'local', dir, excludePatterns: ['**/.env'] }],
        w.ctx,
      );
      t.is(readFileSync(join(dir, 'src/a.txt'), 'utf8'), 'A');
      t.is(readFileSync(join(w.root, 'snapshots', id, 'fs/seen'), 'utf8'), 'changed\n');
      t.deepEqual(await names(w, id), ['seen']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }));

test('a read-write bind of another snapshot discards its writes; read-only refuses them', (t) =>
  withWorker(async (w, base) => {
    const other = await w.worker.run(run('mkdir -p /data && echo orig > /data/f'), [{ type: 'snapshot', id: base }], w.ctx);
    const id = await w.worker.run(
      withMounts('echo new > /m/f && cat /m/f > /seen && ! echo x > /ro/f', [
        { type: 'bind', target: '/m', input: 1, source: '/data', readonly: false },
        { type: 'bind', target: '/ro', input: 1, source: '/data', readonly: true },
      ]),
      [{ type: 'snapshot', id: base }, { type: 'snapshot', id: other }],
      w.ctx,
    );
    t.is(readFileSync(join(w.root, 'snapshots', other, 'fs/data/f'), 'utf8'), 'orig\n');
    t.is(readFileSync(join(w.root, 'snapshots', id, 'fs/seen'), 'utf8'), 'new\n');
    t.deepEqual(await names(w, id), ['seen']);
  }));

test('S1: mount targets are removed from the upper dir only, even when the command swapped an ancestor for a host symlink', (t) =>
  withWorker(async (w, base) => {
    const victim = mkdtempSync(join(tmpdir(), 'tsbuild-s1-victim-'));
    try {
      mkdirSync(join(victim, 'b'));
      writeFileSync(join(victim, 'emptyfile'), '');
      const ctx = { ...w.ctx, secrets: new Map<string, Buffer>() };
      const e = await t.throwsAsync(
        w.worker.run(
          withMounts(`mv /a /a2 && ln -s ${victim} /a && mv /q /q2 && ln -s ${victim} /q && false`, [
            { type: 'tmpfs', target: '/a/b', size: 1 << 20 },
            secretMount('s', { target: '/q/emptyfile' }),
          ]),
          [{ type: 'snapshot', id: base }],
          ctx,
        ),
      );
      t.true(isTsbuildError(e) && e.code === 'RUN_FAILED', e?.message);
      t.true(existsSync(join(victim, 'b')), 'the host dir is still there');
      t.true(existsSync(join(victim, 'emptyfile')), 'the host file is still there');
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
  }));
