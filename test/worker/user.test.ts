import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { resolveOwner, resolveUser } from '../../worker/exec/user.ts';

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
