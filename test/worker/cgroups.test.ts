// The cgroup layout read from mountinfo (v1, v2, hybrid) and what a finished step's cgroup counted,
// on sample files: every layout is tested here, whatever this machine runs.
import test from 'ava';
import { cgroupPrefix, parseCgroupLayout, readCgroupEvents, runCgroupPath } from '../../worker/exec/cgroups.ts';

const line = (id: number, dir: string, fstype: string, opts: string) => `${id} 20 0:${id} / ${dir} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fstype} ${fstype} ${opts}`;

const hybrid = [
  '19 1 8:1 / / rw,relatime - ext4 /dev/vda rw',
  line(30, '/sys/fs/cgroup', 'tmpfs', 'rw,mode=755'),
  line(31, '/sys/fs/cgroup/cpu', 'cgroup', 'rw,cpu'),
  line(32, '/sys/fs/cgroup/memory', 'cgroup', 'rw,memory'),
  line(33, '/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
  line(34, '/sys/fs/cgroup/systemd', 'cgroup', 'rw,xattr,name=systemd'),
  line(35, '/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
].join('\n');

const v2 = ['19 1 8:1 / / rw,relatime - ext4 /dev/vda rw', line(30, '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate')].join('\n');

test('hybrid: controllers from the v1 mounts, every hierarchy listed for removal', (t) => {
  const files: Record<string, string> = { '/sys/fs/cgroup/unified/cgroup.controllers': '\n', '/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes': '9223372036854771712\n' };
  const layout = parseCgroupLayout(hybrid, (p) => files[p]);
  t.is(layout.mode, 'hybrid');
  t.deepEqual([...layout.controllers], [
    ['cpu', { dir: '/sys/fs/cgroup/cpu', version: 1 }],
    ['memory', { dir: '/sys/fs/cgroup/memory', version: 1 }],
    ['pids', { dir: '/sys/fs/cgroup/pids', version: 1 }],
  ]);
  t.deepEqual(layout.hierarchies, ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']);
  t.true(layout.swapLimit);
});

test('v1 without swap accounting cannot limit swap', (t) => {
  const layout = parseCgroupLayout(hybrid.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'), () => undefined);
  t.is(layout.mode, 'v1');
  t.false(layout.swapLimit);
});

test('v2: controllers from cgroup.controllers', (t) => {
  const layout = parseCgroupLayout(v2, (p) => (p === '/sys/fs/cgroup/cgroup.controllers' ? 'cpuset cpu io memory pids\n' : undefined));
  t.is(layout.mode, 'v2');
  t.deepEqual([...layout.controllers.keys()], ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  t.is(layout.controllers.get('memory')?.version, 2);
  t.deepEqual(layout.hierarchies, ['/sys/fs/cgroup']);
  t.true(layout.swapLimit);
});

test('events: oom_kill and pids max, from v1 and v2 files', (t) => {
  const path = '/tsbuild-abc-1';
  const v1Layout = parseCgroupLayout(hybrid, () => undefined);
  const v1Files: Record<string, string> = {
    '/sys/fs/cgroup/memory/tsbuild-abc-1/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    '/sys/fs/cgroup/pids/tsbuild-abc-1/pids.events': 'max 0\n',
  };
  t.deepEqual(readCgroupEvents(v1Layout, path, (p) => v1Files[p]), { oomKills: 2, pidsLimitHits: 0 });
  const v2Layout = parseCgroupLayout(v2, () => 'memory pids');
  const v2Files: Record<string, string> = {
    '/sys/fs/cgroup/tsbuild-abc-1/memory.events': 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\noom_group_kill 0\n',
    '/sys/fs/cgroup/tsbuild-abc-1/pids.events': 'max 3\n',
  };
  // memory.events' own "max" line is not the pids one
  t.deepEqual(readCgroupEvents(v2Layout, path, (p) => v2Files[p]), { oomKills: 0, pidsLimitHits: 3 });
  t.deepEqual(readCgroupEvents(v2Layout, path, () => undefined), { oomKills: 0, pidsLimitHits: 0 });
});

test('cgroup names: per state root, per RUN', (t) => {
  const a = cgroupPrefix('/nonexistent/root-a');
  t.regex(a, /^tsbuild-[0-9a-f]{12}-$/);
  t.not(a, cgroupPrefix('/nonexistent/root-b'));
  t.is(runCgroupPath('/nonexistent/root-a', 'ff00'), `/${a}ff00`);
});
