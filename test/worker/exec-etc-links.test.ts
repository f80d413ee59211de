// Issue 6/7 (security review): the image's own links at /etc/hosts, /etc/resolv.conf and
// /etc/passwd, with the real runtime. runc mounts the host's hosts and resolv.conf files and
// reads the image's passwd: none of it may follow a link onto the host, leave a file in the
// layer, or hang the step.
import test from 'ava';
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createBusyboxRootfs } from '../_support/busybox-rootfs.ts';
import { copyAll, layerEntries, run, withWorker, type TestWorker } from './_setup.ts';
import { removalsSettled } from '../../worker/snapshot/background-removal.ts';

/** A committed busybox snapshot after `edit` changed its rootfs dir (links made on the host side). */
async function image(w: TestWorker, edit: (dir: string) => void): Promise<string> {
  const dir = createBusyboxRootfs();
  try {
    edit(dir);
    return await w.worker.run(copyAll(), [{ type: 'local', dir, excludePatterns: [] }], w.ctx);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('links at /etc/resolv.conf and /etc/hosts: the step reads through them, the layer gets nothing', (t) =>
  withWorker(async (w) => {
    const base = await image(w, (dir) => {
      symlinkSync('/root/leak-resolv', join(dir, 'etc/resolv.conf'));
      symlinkSync('../../var/leak-hosts', join(dir, 'etc/hosts'));
    });
    const id = await w.worker.run(run('grep -c localhost /etc/hosts; cat /etc/resolv.conf >/dev/null && echo resolv'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['2', 'resolv']);
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), []);
    // the step's scratch is removed in the background (worker/snapshot/background-removal.ts)
    await removalsSettled();
    t.deepEqual(readdirSync(join(w.root, 'tmp')), []);
  }));

test('links into /proc or /sys (/proc/self/cwd is a host dir for runc) are not mounted on, and no host path lands in the layer', (t) =>
  withWorker(async (w) => {
    const base = await image(w, (dir) => {
      symlinkSync('/proc/self/cwd/hosts', join(dir, 'etc/hosts'));
      symlinkSync('/sys/kernel/resolv.conf', join(dir, 'etc/resolv.conf'));
    });
    const id = await w.worker.run(run('readlink /etc/hosts; test -e /etc/resolv.conf || echo no-resolv'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['/proc/self/cwd/hosts', 'no-resolv']);
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), []);
  }));

test('etc -> /proc/self/cwd: the step is refused (passwd would be read from /proc), nothing is left behind', (t) =>
  withWorker(async (w) => {
    const base = await image(w, (dir) => {
      rmSync(join(dir, 'etc'), { recursive: true });
      symlinkSync('/proc/self/cwd', join(dir, 'etc'));
    });
    const err = await t.throwsAsync(w.worker.run(run('true'), [{ type: 'snapshot', id: base }], w.ctx));
    t.true(isTsbuildError(err) && err.code === 'FILE_UNREADABLE', String(err));
    t.is(err?.message, 'cannot start a process in this image: its /etc/passwd is a link to /proc/self/cwd/passwd, not a regular file, and runc reads it to start every process');
    // the step's scratch is removed in the background (worker/snapshot/background-removal.ts)
    await removalsSettled();
    t.deepEqual(readdirSync(join(w.root, 'tmp')), []);
  }));

test('a link from an ancestor of the mount target (/etc -> /srv/etc): the target runc makes is removed where it lands', (t) =>
  withWorker(async (w) => {
    const base = await image(w, (dir) => {
      mkdirSync(join(dir, 'srv'));
      rmSync(join(dir, 'etc'), { recursive: true });
      symlinkSync('/srv/conf', join(dir, 'etc'));
      mkdirSync(join(dir, 'srv/conf'));
    });
    const id = await w.worker.run(run('grep -c localhost /etc/hosts'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['2']);
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), []);
  }));

test('/etc/passwd -> /proc/kmsg: the RUN is refused at once instead of blocking in runc', async (t) => {
  t.timeout(60_000);
  await withWorker(async (w) => {
    const base = await image(w, (dir) => {
      rmSync(join(dir, 'etc/passwd'));
      symlinkSync('/proc/kmsg', join(dir, 'etc/passwd'));
    });
    // reading /proc/kmsg would block for good: the error at all shows it was not read
    const err = await t.throwsAsync(w.worker.run(run('true'), [{ type: 'snapshot', id: base }], w.ctx));
    t.true(isTsbuildError(err) && err.code === 'FILE_UNREADABLE', String(err));
    t.is(err?.message, 'cannot start a process in this image: its /etc/passwd is a link to /proc/kmsg, not a regular file, and runc reads it to start every process');
  });
});

test('RUN --mount=type=bind of a FIFO at /etc/passwd, or of a dir holding one at /etc, is refused instead of hanging', async (t) => {
  t.timeout(60_000);
  await withWorker(async (w) => {
    const base = await w.busybox();
    const f = await w.worker.run(run('mkfifo /fifo && mkdir /fake /kmsg && mkfifo /fake/group && ln -s /proc/kmsg /kmsg/passwd'), [{ type: 'snapshot', id: base }], w.ctx);
    const inputs = [{ type: 'snapshot' as const, id: base }, { type: 'snapshot' as const, id: f }];
    const onFile = await t.throwsAsync(w.worker.run(run('true', { mounts: [{ type: 'root', input: 0 }, { type: 'bind', input: 1, source: '/fifo', target: '/etc/passwd', readonly: true }] }), inputs, w.ctx));
    t.true(isTsbuildError(onFile) && onFile.code === 'FILE_UNREADABLE', String(onFile));
    t.is(onFile?.message, 'cannot start a process with the mount at /etc/passwd: it puts a FIFO as /etc/passwd, not a regular file, and runc reads it to start every process');
    const onDir = await t.throwsAsync(w.worker.run(run('true', { mounts: [{ type: 'root', input: 0 }, { type: 'bind', input: 1, source: '/fake', target: '/etc', readonly: true }] }), inputs, w.ctx));
    t.is(onDir?.message, 'cannot start a process with the mount at /etc: it puts a FIFO as /etc/group, not a regular file, and runc reads it to start every process');
    const onLink = await t.throwsAsync(w.worker.run(run('true', { mounts: [{ type: 'root', input: 0 }, { type: 'bind', input: 1, source: '/kmsg', target: '/etc', readonly: true }] }), inputs, w.ctx));
    t.is(onLink?.message, 'cannot start a process with the mount at /etc: it puts a link to /proc/kmsg as /etc/passwd, not a regular file, and runc reads it to start every process');
    // a regular file bound there still works
    await w.worker.run(run('id -un', { mounts: [{ type: 'root', input: 0 }, { type: 'bind', input: 0, source: '/etc/passwd', target: '/etc/passwd', readonly: true }] }), [{ type: 'snapshot', id: base }], w.ctx);
    t.true(w.logs.join('').includes('root'));
    // the step's scratch is removed in the background (worker/snapshot/background-removal.ts)
    await removalsSettled();
    t.deepEqual(readdirSync(join(w.root, 'tmp')), []);
  });
});

test('RUN --mount targets through the image\'s links: what runc makes lands where the link leads and is removed; a link into /proc is refused', (t) =>
  withWorker(async (w) => {
    const base = await image(w, (dir) => {
      symlinkSync('/srv/data', join(dir, 'data'));
      symlinkSync('/proc/self/cwd', join(dir, 'x'));
    });
    const tmpfsAt = (target: string) => run('echo hi > /data/m/f && cat /srv/data/m/f', { mounts: [{ type: 'root', input: 0 }, { type: 'tmpfs', target }] });
    const id = await w.worker.run(tmpfsAt('/data/m'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['hi']);
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), []);
    const err = await t.throwsAsync(w.worker.run(tmpfsAt('/x/y'), [{ type: 'snapshot', id: base }], w.ctx));
    t.true(isTsbuildError(err) && err.code === 'PATH_ESCAPE', String(err));
    t.is(err?.message, 'the mount target /x/y leads, through the image\'s symlinks, to /proc/self/cwd/y: the runtime would resolve it through the kernel\'s files there');
    // the step's scratch is removed in the background (worker/snapshot/background-removal.ts)
    await removalsSettled();
    t.deepEqual(readdirSync(join(w.root, 'tmp')), []);
  }));

test('a directory at /etc/hosts: nothing is mounted on it, the step runs, and the layer gets nothing', (t) =>
  withWorker(async (w) => {
    const base = await image(w, (dir) => mkdirSync(join(dir, 'etc/hosts')));
    const id = await w.worker.run(run('test -d /etc/hosts && grep -q nameserver /etc/resolv.conf && echo ok'), [{ type: 'snapshot', id: base }], w.ctx);
    t.deepEqual(w.logs.join('').trim().split('\n'), ['ok']);
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name), []);
  }));
