import test from 'ava';
import { createRuntimeSpec, defaultPath, type SpecInput } from '../../worker/exec/spec.ts';
import { parseCpuList } from '../../worker/exec/host-masked-paths.ts';

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

test('Docker\'s lists: capabilities, masked paths (with each CPU\'s thermal_throttle) and read-only paths', (t) => {
  const spec = createRuntimeSpec(input);
  // moby daemon/pkg/oci/caps/defaults.go and daemon/pkg/oci/defaults.go
  t.deepEqual([...spec.process.capabilities.effective].sort(), [
    'CAP_AUDIT_WRITE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_MKNOD', 'CAP_NET_BIND_SERVICE',
    'CAP_NET_RAW', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
  ]);
  const masked = spec.linux.maskedPaths.filter((p) => !p.endsWith('/thermal_throttle')).sort();
  t.deepEqual(masked, [
    '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug',
    '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap', '/sys/firmware',
  ]);
  t.true(spec.linux.maskedPaths.includes('/sys/devices/system/cpu/cpu0/thermal_throttle'));
  t.deepEqual(spec.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  t.deepEqual(spec.linux.resources.devices[0], { allow: false, access: 'rwm' });
});

test('the kernel\'s CPU list format', (t) => {
  t.deepEqual(parseCpuList('0-3,8\n'), [0, 1, 2, 3, 8]);
  t.deepEqual(parseCpuList('0\n'), [0]);
  t.deepEqual(parseCpuList(''), []);
  t.deepEqual(parseCpuList('0-99999'), []);
  t.deepEqual(parseCpuList('garbage'), []);
});
