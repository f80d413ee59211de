// Limits as the runtime spec says them, fitted to the host: pure, so every mapping is checked here.
import test from 'ava';
import { createRuntimeSpec, type SpecInput } from '../../worker/exec/spec.ts';
import { fitLimits, limitFailure, specJson } from '../../worker/exec/resources.ts';
import type { CgroupLayout } from '../../worker/exec/cgroups.ts';

const MiB = 1024 ** 2;
const input: SpecInput = {
  args: ['/bin/sh', '-c', 'true'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, network: 'none', hostname: 'h',
  hostsPath: '/h', resolvConfPath: '/r', cgroupsPath: '/tsbuild-x-1', extraMounts: [],
};
const host = (controllers: string[], swapLimit = true): CgroupLayout => ({
  mode: 'hybrid', hierarchies: [], swapLimit, controllers: new Map(controllers.map((c) => [c, { dir: `/sys/fs/cgroup/${c}`, version: 1 }])),
});

test('--cpus 1.5 is a quota of 150 ms per 100 ms period', (t) => {
  const spec = createRuntimeSpec({ ...input, limits: { cpus: 1.5 } });
  t.deepEqual(spec.linux.resources.cpu, { period: 100000, quota: 150000 });
  t.deepEqual(createRuntimeSpec({ ...input, limits: { cpus: 0.01 } }).linux.resources.cpu, { period: 100000, quota: 1000 });
  t.deepEqual(createRuntimeSpec({ ...input, limits: { cpuQuota: 25000, cpuPeriod: 50000, cpuShares: 512 } }).linux.resources.cpu, { shares: 512, quota: 25000, period: 50000 });
});

test('memory, swap and pids in linux.resources; the device rules stay', (t) => {
  const spec = createRuntimeSpec({ ...input, limits: { memory: 256 * MiB, memorySwap: -1, pidsLimit: 64 } });
  t.deepEqual(spec.linux.resources, { devices: [{ allow: false, access: 'rwm' }], memory: { limit: 256 * MiB, swap: -1 }, pids: { limit: 64 } });
});

test('no limits: no resources beyond devices, no rlimits, docker\'s 64 MiB /dev/shm', (t) => {
  const spec = createRuntimeSpec(input);
  t.deepEqual(spec.linux.resources, { devices: [{ allow: false, access: 'rwm' }] });
  t.deepEqual(spec.process.rlimits, []);
  t.true(spec.mounts.find((m) => m.destination === '/dev/shm')!.options.includes('size=65536k'));
});

test('--shm-size and --ulimit', (t) => {
  const spec = createRuntimeSpec({ ...input, limits: { shmSize: 1024 * MiB, ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }, { name: 'memlock', soft: -1, hard: -1 }] } });
  t.true(spec.mounts.find((m) => m.destination === '/dev/shm')!.options.includes('size=1048576k'));
  t.deepEqual(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }, { type: 'RLIMIT_MEMLOCK', soft: -1, hard: -1 }]);
  // unlimited is RLIM_INFINITY in config.json, which a JS number cannot hold exactly
  t.regex(specJson(spec), /"rlimits":\[\{"type":"RLIMIT_NOFILE","hard":2048,"soft":1024\},\{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615\}\]/);
});

test('fitting to the host: swap as docker defaults it, dropped without swap accounting, missing controllers refused', (t) => {
  t.deepEqual(fitLimits({ memory: 256 * MiB }, host(['memory'])), { memory: 256 * MiB, memorySwap: 512 * MiB });
  t.deepEqual(fitLimits({ memory: 256 * MiB, memorySwap: -1 }, host(['memory'])), { memory: 256 * MiB, memorySwap: -1 });
  t.deepEqual(fitLimits({ memory: 256 * MiB, memorySwap: MiB * 300 }, host(['memory'], false)), { memory: 256 * MiB });
  t.deepEqual(fitLimits({ shmSize: MiB }, host([])), { shmSize: MiB });
  t.is(t.throws(() => fitLimits({ pidsLimit: 10 }, host(['memory'])))?.message, '--pids-limit cannot be enforced: this host has no pids cgroup controller (cgroups hybrid)');
  t.regex(t.throws(() => fitLimits({ cpus: 1 }, host(['memory'])))?.message ?? '', /no cpu cgroup controller/);
});

test('the sentence for a step a limit stopped', (t) => {
  t.is(limitFailure({ oomKills: 1, pidsLimitHits: 0 }, { memory: 256 * MiB }), 'killed: out of memory (limit 256 MiB)');
  t.is(limitFailure({ oomKills: 1, pidsLimitHits: 0 }, {}), 'killed: out of memory');
  t.is(limitFailure({ oomKills: 0, pidsLimitHits: 2 }, { pidsLimit: 32 }), 'a new process could not start: the step reached its limit of 32 processes (--pids-limit)');
  t.is(limitFailure({ oomKills: 0, pidsLimitHits: 0 }, { memory: MiB * 8 }), undefined);
  t.is(limitFailure(undefined, {}), undefined);
});
