// The syscall helper ending with a mount request in flight (worker/syscall-helper.ts LOST): the
// mount may have been made before it went. mountAt must leave exactly one mount on the target, so
// the one unmount of the caller's cleanup leaves nothing (a second, stacked one kept the target
// busy: "internal error: EBUSY ... rmdir rootfs" and a mount left on the host). Its own file: the
// helper is killed, and stays gone for this process.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountAt, unmount } from '../../worker/snapshot/mount.ts';
import { mountSyscall, umountSyscall } from '../../worker/syscall-helper.ts';

const mountsOn = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === dir).length;

test('a mount the helper made just before it died is not mounted a second time', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsbuild-hostile-lost-'));
  const target = join(base, 'rootfs');
  mkdirSync(target);
  t.teardown(() => {
    for (let i = 0; i < 3 && mountsOn(target) > 0; i++) execFileSync('umount', ['-l', target]);
    rmSync(base, { recursive: true, force: true });
  });
  const tmpfs = { type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=65536'] };
  // the helper is up (a request answered), then stopped: the next request waits in its pipe
  t.is(await mountSyscall(tmpfs, target), 0);
  t.is(await umountSyscall(target), 0);
  const helper = Number(execFileSync('pgrep', ['-P', String(process.pid), '-x', 'perl'], { encoding: 'utf8' }).trim());
  process.kill(helper, 'SIGSTOP');
  const mounting = mountAt(tmpfs, target);
  await new Promise((r) => setTimeout(r, 100));
  // what the helper would have done before it died: the mount is there
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=65536', 'tmpfs', target]);
  process.kill(helper, 'SIGKILL');
  await mounting;
  t.is(mountsOn(target), 1, 'exactly one mount on the target');
  await unmount(target);
  t.is(mountsOn(target), 0, 'the one unmount leaves nothing');
  // later requests: no helper, so mount(8) and umount(8) do it
  t.is(await mountSyscall(tmpfs, target), undefined);
});
