import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { resolveOwner, resolveUser } from '../../worker/rootfs/users.ts';

function rootfs(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-user-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nstaff:x:50:app\napp:x:1001:\n');
  return dir;
}

test('resolveOwner: names and numbers, a numeric user without group is uid:uid', (t) => {
  const root = rootfs(t);
  t.deepEqual(resolveOwner(root, { user: 'app' }), { uid: 1000, gid: 1001 });
  t.deepEqual(resolveOwner(root, { user: 'app', group: 'staff' }), { uid: 1000, gid: 50 });
  t.deepEqual(resolveOwner(root, { user: '42' }), { uid: 42, gid: 42 });
  t.deepEqual(resolveOwner(root, { user: '42', group: '7' }), { uid: 42, gid: 7 });
});

test('resolveOwner: --chown=:group is uid 0 with that group, as BuildKit takes it', (t) => {
  const root = rootfs(t);
  t.deepEqual(resolveOwner(root, { user: '', group: 'staff' }), { uid: 0, gid: 50 });
  t.deepEqual(resolveOwner(root, { user: '', group: '50' }), { uid: 0, gid: 50 });
  t.deepEqual(resolveOwner(root, { user: '' }), { uid: 0, gid: 0 });
});

test('resolveOwner: unknown names say which table lacks them', (t) => {
  const root = rootfs(t);
  const user = t.throws(() => resolveOwner(root, { user: 'nobody' }));
  t.true(isTsbuildError(user));
  t.regex(user!.message, /unable to find user nobody: no matching entries in \/etc\/passwd/);
  const group = t.throws(() => resolveOwner(root, { user: '', group: 'wheel' }));
  t.regex(group!.message, /unable to find group wheel: no matching entries in \/etc\/group/);
});

test('resolveUser: supplementary groups only when no group is given', (t) => {
  const root = rootfs(t);
  t.deepEqual(resolveUser(root, 'app'), { uid: 1000, gid: 1001, additionalGids: [50] });
  t.deepEqual(resolveUser(root, 'app:root'), { uid: 1000, gid: 0, additionalGids: [] });
  t.deepEqual(resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [] });
});

// issue 7 item 2: /etc/passwd and /etc/group of an image are untrusted files. Each case runs in a
// child process with a deadline, so a read that blocks (FIFO) or never ends (/dev/zero) fails the
// test instead of hanging or exhausting the test runner.
function resolveInChild(root: string, call: string): { status: number | null; stdout: string; stderr: string } {
  const script = `import { resolveUser, resolveOwner } from ${JSON.stringify(join(import.meta.dirname, '../../worker/rootfs/users.ts'))};
    try { console.log(JSON.stringify(${call})); } catch (e) { console.log('ERROR ' + e.code + ' ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ROOT: root }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

function hostileRoot(t: { teardown(fn: () => void): void }, make: (passwd: string) => void): string {
  const dir = rootfs(t);
  rmSync(join(dir, 'etc/passwd'));
  make(join(dir, 'etc/passwd'));
  return dir;
}

test('issue 7: a FIFO /etc/passwd does not hang: --chown by number works, by name fails saying why, RUN is refused', (t) => {
  const root = hostileRoot(t, (p) => execFileSync('mkfifo', [p]));
  const numeric = resolveInChild(root, `resolveOwner(process.env.ROOT, { user: '1000', group: '1000' })`);
  t.is(numeric.status, 0, numeric.stderr);
  t.deepEqual(JSON.parse(numeric.stdout), { uid: 1000, gid: 1000 });
  const named = resolveInChild(root, `resolveOwner(process.env.ROOT, { user: 'app' })`);
  t.is(named.status, 0, named.stderr);
  t.is(named.stdout, 'ERROR USER_NOT_FOUND unable to find user app: cannot read /etc/passwd of the image: it is a FIFO, not a regular file, so it was taken as empty');
  // runc opens the container's /etc/passwd to start any process: a FIFO would block it forever
  const run = resolveInChild(root, `resolveUser(process.env.ROOT, '1000:1000')`);
  t.is(run.stdout, 'ERROR FILE_UNREADABLE cannot start a process in this image: its /etc/passwd is a FIFO, not a regular file, and runc reads it to start every process');
});

test('issue 7: a character device 1:5 (/dev/zero) as /etc/passwd is not read', (t) => {
  const root = hostileRoot(t, (p) => execFileSync('mknod', [p, 'c', '1', '5']));
  const r = resolveInChild(root, `resolveOwner(process.env.ROOT, { user: 'app' })`);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'ERROR USER_NOT_FOUND unable to find user app: cannot read /etc/passwd of the image: it is a character device (1:5), not a regular file, so it was taken as empty');
  t.deepEqual(JSON.parse(resolveInChild(root, `resolveOwner(process.env.ROOT, { user: '7' })`).stdout), { uid: 7, gid: 7 });
});

test('issue 7: a symlink /etc/passwd -> /../../../etc/shadow stays inside the rootfs', (t) => {
  const root = hostileRoot(t, (p) => symlinkSync('/../../../etc/shadow', p));
  // the host has a root entry in /etc/shadow; the image has none, so "root" is not found
  const r = resolveInChild(root, `resolveOwner(process.env.ROOT, { user: 'root' })`);
  t.is(r.stdout, 'ERROR USER_NOT_FOUND unable to find user root: no matching entries in /etc/passwd');
  // and a link to a file inside the rootfs is followed, as the container would see it
  writeFileSync(join(root, 'etc/shadow'), 'root:x:0:0::/root:/bin/sh\nimg:x:77:78::/:/bin/sh\n');
  t.deepEqual(resolveOwner(root, { user: 'img' }), { uid: 77, gid: 78 });
});

test('issue 7: an /etc/group over 4 MiB is refused, not read into memory', (t) => {
  const root = rootfs(t);
  writeFileSync(join(root, 'etc/group'), Buffer.alloc(4 * 1024 * 1024 + 1, 'a'));
  const e = t.throws(() => resolveOwner(root, { user: 'app', group: 'staff' }));
  t.is(e?.message, 'unable to find group staff: cannot read /etc/group of the image: it is larger than 4194304 bytes, so it was taken as empty');
  t.deepEqual(resolveUser(root, 'app'), { uid: 1000, gid: 1001, additionalGids: [] }, 'a regular file over the bound does not stop a RUN');
});

test('issue 7: a directory as /etc/passwd is taken as empty', (t) => {
  const root = hostileRoot(t, (p) => mkdirSync(p));
  t.deepEqual(resolveOwner(root, { user: '5' }), { uid: 5, gid: 5 });
  t.regex(t.throws(() => resolveOwner(root, { user: 'app' }))!.message, /it is a directory, not a regular file, so it was taken as empty/);
  t.regex(t.throws(() => resolveUser(root, '5'))!.message, /its \/etc\/passwd is a directory, not a regular file/);
});

test('issues 6/7: /etc/passwd or /etc/group linked into /proc, /sys or /dev (absent in the image) refuses a RUN; a plain missing one does not', (t) => {
  for (const [file, link, inside] of [['passwd', '/proc/kmsg', '/proc/kmsg'], ['group', '../dev/tty', '/dev/tty'], ['passwd', '/sys/kernel/x/../y', '/sys/kernel/y']]) {
    const root = rootfs(t);
    rmSync(join(root, `etc/${file}`));
    symlinkSync(link, join(root, `etc/${file}`));
    const err = t.throws(() => resolveUser(root, '0'));
    t.true(isTsbuildError(err) && err.code === 'FILE_UNREADABLE', String(err));
    t.is(err?.message, `cannot start a process in this image: its /etc/${file} is a link to ${inside}, not a regular file, and runc reads it to start every process`);
  }
  const root = rootfs(t);
  rmSync(join(root, 'etc/group'));
  symlinkSync('/nowhere', join(root, 'etc/group'));
  t.deepEqual(resolveUser(root, '0'), { uid: 0, gid: 0, additionalGids: [] });
});
