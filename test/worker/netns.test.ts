// Named network namespaces (worker/net/netns.ts), made by the syscall helper as `ip netns add` makes
// them: iproute2 lists and enters them, they are empty, and their deletion leaves nothing.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { addNetns, deleteNetns, netnsPath, newNetnsName } from '../../worker/net/netns.ts';

const mountedAt = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);

test('a namespace made by the helper is one ip lists and enters, with only a loopback that is down; deleting it leaves no mount and no file', async (t) => {
  const name = newNetnsName(`tsb-test-${process.pid}-`);
  const path = await addNetns(name);
  try {
    t.is(path, netnsPath(name));
    t.true(mountedAt(path));
    t.true(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.split(' ')[0] === name));
    const links = execFileSync('ip', ['netns', 'exec', name, 'ip', '-o', 'link'], { encoding: 'utf8' }).trim().split('\n');
    t.is(links.length, 1);
    t.regex(links[0], /^1: lo: <LOOPBACK>/);
    // a different namespace from ours
    t.not(execFileSync('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }), execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }));
    await t.throwsAsync(addNetns(name), { message: /cannot create network namespace .*EEXIST/ });
    t.true(mountedAt(path), 'a refused second add leaves the first in place');
  } finally {
    await deleteNetns(name);
  }
  t.false(mountedAt(path));
  t.false(existsSync(path));
  await t.notThrowsAsync(deleteNetns(name), 'deleting twice is fine');
});
