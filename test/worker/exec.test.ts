import test from 'ava';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { layerEntries, run, withWorker, type TestWorker } from './_setup.ts';
import { removalsSettled } from '../../worker/snapshot/background-removal.ts';


test('runs a command and streams its output', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('echo hello; echo oops >&2'), [{ type: 'snapshot', id: base }], w.ctx);
    t.true(w.worker.exists(id));
    t.deepEqual(w.worker.chain(id), [base, id]);
    t.regex(w.logs.join(''), /hello/);
    t.regex(w.logs.join(''), /oops/);
  }));

test('a non-zero exit is RUN_FAILED with the exit code and the last lines', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const err = await t.throwsAsync(w.worker.run(run('for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; exit 3'), [{ type: 'snapshot', id: base }], w.ctx));
    t.true(isTsbuildError(err));
    if (!isTsbuildError(err)) return;
    t.is(err.code, 'RUN_FAILED');
    t.is(err.message, 'process "/bin/sh -c for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i; done; exit 3" did not complete successfully: exit code: 3');
    t.deepEqual(err.details, ['line3', 'line4', 'line5', 'line6', 'line7', 'line8', 'line9', 'line10', 'line11', 'line12']);
    // the failed attempt leaves no snapshot dir behind
    t.deepEqual(readdirSync(join(w.root, 'snapshots')).filter((d) => d !== base && d !== '.empty'), []);
  }));

test('env, default PATH, cwd created when missing, and hostname', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('echo "$FOO|$PATH|$(pwd)|$(hostname)"', { env: ['FOO=bar'], cwd: '/work/dir' }), [{ type: 'snapshot', id: base }], w.ctx);
    t.is(w.logs.join('').trim(), 'bar|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/work/dir|buildkitsandbox');
    t.true(existsSync(join(w.root, 'snapshots', id, 'fs', 'work', 'dir')));
  }));

test('USER by name, with group, and supplementary groups from /etc/group', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox({
      files: {
        '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
        '/etc/group': 'root:x:0:\napp:x:1000:\nstaff:x:50:app\naudio:x:29:other,app\n',
      },
    });
    await w.worker.run(run('id -u; id -g; id -G', { user: 'app' }), [{ type: 'snapshot', id: base }], w.ctx);
    const [uid, gid, groups] = w.logs.join('').trim().split('\n');
    t.deepEqual([uid, gid, groups.split(' ').sort()], ['1000', '1000', ['1000', '29', '50']]);
    w.logs.length = 0;
    await w.worker.run(run('id -u; id -g', { user: 'app:staff' }), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['1000', '50']);
    w.logs.length = 0;
    await w.worker.run(run('id -u; id -g', { user: '4242:4343' }), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['4242', '4343']);
    const err = await t.throwsAsync(w.worker.run(run('true', { user: 'nosuchuser' }), [{ type: 'snapshot', id: base }], w.ctx));
    t.is(err?.message, 'unable to find user nosuchuser: no matching entries in /etc/passwd');
  }));

test('deletions become whiteouts and mount points do not leak into the layer', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const id = await w.worker.run(run('rm /bin/vi && rm -r /root && mkdir /new && echo x > /new/f'), [{ type: 'snapshot', id: base }], w.ctx);
    const names = (await layerEntries(w, id)).map((e) => e.name).sort();
    t.deepEqual(names, ['.wh.root', 'bin/', 'bin/.wh.vi', 'new/', 'new/f']);
  }));

test('a scratch-like rootfs without /etc, /proc or /dev gets none of them in its layer', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const rm = (path: string) => ({ action: 'rm' as const, path, allowNotFound: false, allowWildcard: false });
    const stripped = await w.worker.run({ kind: 'file', base: 0, actions: [rm('/etc'), rm('/tmp'), rm('/root')] }, [{ type: 'snapshot', id: base }], w.ctx);
    const id = await w.worker.run(run('echo hi > /hi'), [{ type: 'snapshot', id: stripped }], w.ctx);
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), ['hi']);
  }));

test('network none has only loopback', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    await w.worker.run(run('ls /sys/class/net'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split(/\s+/), ['lo']);
  }));

test('abort kills the container and cleans up', (t) =>
  withWorker(async (w) => {
    const base = await w.busybox();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    // the step would sleep an hour: CANCELLED at all shows the abort stopped it (no clock bound)
    const err = await t.throwsAsync(w.worker.run(run('sleep 3600'), [{ type: 'snapshot', id: base }], { ...w.ctx, signal: ac.signal }));
    t.true(isTsbuildError(err) && err.code === 'CANCELLED', String(err));
    // the step's scratch is removed in the background (worker/snapshot/background-removal.ts)
    await removalsSettled();
    t.deepEqual(readdirSync(join(w.root, 'tmp')), []);
  }));
