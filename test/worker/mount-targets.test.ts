// What the runtime creates to mount on is removed from the upper dir (worker/exec/mount-targets.ts),
// with a real overlay mount: a dir copied up only for a target goes, an opaque one (the command
// emptied it) stays, and a dir whose lower entries show through needs no getfattr to say so.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirsShowingLower, recordTargets, removeCreatedTargets } from '../../worker/exec/mount-targets.ts';
import { mountAt, unmount } from '../../worker/snapshot/mount.ts';

async function withOverlay(t: import('ava').ExecutionContext, fn: (dirs: { merged: string; upper: string; remount: () => Promise<void> }) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-targets-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(dir, d));
  for (const d of [lower, upper, work, merged]) mkdirSync(d);
  mkdirSync(join(lower, 'etc'), { mode: 0o755 });
  chmodSync(join(lower, 'etc'), 0o755);
  writeFileSync(join(lower, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  const mount = () => mountAt({ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }, merged);
  await mount();
  let mounted = true;
  t.teardown(async () => {
    if (mounted) await unmount(merged);
    rmSync(dir, { recursive: true, force: true });
  });
  await fn({ merged, upper, remount: async () => { await unmount(merged); mounted = false; } });
}

test('a dir copied up only for a mount target leaves the layer; its lower entries show, so getfattr is not asked', (t) =>
  withOverlay(t, async ({ merged, upper, remount }) => {
    const before = recordTargets(merged, ['/etc/hosts']);
    writeFileSync(join(merged, 'etc', 'hosts'), ''); // what the runtime makes to bind on
    t.deepEqual(readdirSync(upper), ['etc'], 'copied up');
    const shows = dirsShowingLower(merged, upper, before);
    t.deepEqual([...shows], ['/etc']);
    await remount();
    await removeCreatedTargets(upper, before, 'diff', shows);
    t.deepEqual(readdirSync(upper), []);
  }));

test('a dir the command emptied (opaque in the upper dir) stays, as an empty dir hiding the lower one', (t) =>
  withOverlay(t, async ({ merged, upper, remount }) => {
    const before = recordTargets(merged, ['/etc/hosts']);
    rmSync(join(merged, 'etc'), { recursive: true });
    mkdirSync(join(merged, 'etc'));
    chmodSync(join(merged, 'etc'), 0o755);
    writeFileSync(join(merged, 'etc', 'hosts'), '');
    const shows = dirsShowingLower(merged, upper, before);
    t.deepEqual([...shows], [], 'nothing of the lower etc shows through');
    await remount();
    await removeCreatedTargets(upper, before, 'diff', shows);
    t.deepEqual(readdirSync(upper), ['etc'], 'the opaque etc is kept (getfattr said so)');
    t.deepEqual(readdirSync(join(upper, 'etc')), [], 'the target file is gone');
  }));
