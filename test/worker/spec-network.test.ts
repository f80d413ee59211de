// The spec's network namespace and the privileged (security.insecure) variant, as plain data.
import test from 'ava';
import { allCapabilities, createRuntimeSpec, defaultCapabilities, maskedPaths, type SpecInput } from '../../worker/exec/spec.ts';
import { cpuThermalThrottlePaths } from '../../worker/exec/host-masked-paths.ts';

const input: SpecInput = {
  args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, network: 'sandbox', hostname: 'h',
  hostsPath: '/b/hosts', resolvConfPath: '/b/resolv.conf', cgroupsPath: '/tsbuild/x', extraMounts: [],
};
const netns = (i: Partial<SpecInput>) => createRuntimeSpec({ ...input, ...i }).linux.namespaces.filter((n) => n.type === 'network');

test('sandbox joins the prepared namespace by path; none gets a new one; host shares the host\'s', (t) => {
  t.deepEqual(netns({ netnsPath: '/run/netns/tsb-1-2' }), [{ type: 'network', path: '/run/netns/tsb-1-2' }]);
  t.deepEqual(netns({ network: 'none' }), [{ type: 'network' }]);
  t.deepEqual(netns({ network: 'host' }), []);
});

test('a privileged spec has the given capabilities, allows every syscall, masks nothing and mounts /sys writable', (t) => {
  const normal = createRuntimeSpec(input);
  t.deepEqual(normal.process.capabilities.bounding, defaultCapabilities);
  t.deepEqual(normal.linux.maskedPaths, [...maskedPaths, ...cpuThermalThrottlePaths()]);
  const p = createRuntimeSpec({ ...input, privileged: true, privilegedCapabilities: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] });
  t.deepEqual(p.process.capabilities.effective, ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']);
  t.deepEqual(p.linux.maskedPaths, []);
  t.deepEqual(p.linux.readonlyPaths, []);
  t.is(p.linux.seccomp.defaultAction, 'SCMP_ACT_ALLOW');
  t.deepEqual(p.linux.seccomp.syscalls, []);
  t.false(p.mounts.find((m) => m.destination === '/sys')!.options.includes('ro'));
  t.is(createRuntimeSpec({ ...input, privileged: true }).process.capabilities.bounding.length, allCapabilities.length);
});
