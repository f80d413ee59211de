import test from 'ava';
import { createRuntimeSpec, defaultPath, type SpecInput } from '../../worker/exec/spec.ts';

const input: SpecInput = {
  args: ['/bin/sh', '-c', 'true'], env: ['A=1'], cwd: '/app', user: { uid: 1000, gid: 1000, additionalGids: [50] }, network: 'none',
  hostname: 'box', hostsPath: '/b/hosts', resolvConfPath: '/b/resolv.conf', cgroupsPath: '/tsbuild/x', extraMounts: [{ destination: '/cache', type: 'bind', source: '/c', options: ['rbind', 'rw'] }],
};

test('the spec sandboxes like Docker', (t) => {
  const spec = createRuntimeSpec(input);
  t.deepEqual(spec.process.env, ['A=1', `PATH=${defaultPath}`]);
  t.true(spec.process.noNewPrivileges);
  t.false(spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  t.true(spec.process.capabilities.bounding.includes('CAP_CHOWN'));
  t.deepEqual(spec.linux.namespaces.map((n) => n.type), ['pid', 'mount', 'ipc', 'uts', 'network']);
  t.true(spec.linux.maskedPaths.includes('/proc/kcore'));
  t.deepEqual(spec.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/etc/hosts', '/etc/resolv.conf', '/cache']);
  t.true(spec.mounts.find((m) => m.destination === '/sys')!.options.includes('ro'));
  t.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [50] });
});

test('host network shares the host namespace; an explicit PATH is kept', (t) => {
  const spec = createRuntimeSpec({ ...input, network: 'host', env: ['PATH=/x'] });
  t.false(spec.linux.namespaces.some((n) => n.type === 'network'));
  t.deepEqual(spec.process.env, ['PATH=/x']);
});
