// docker build's limit flags, parsed once at the edge: values as docker reads them, and errors
// that say which flag, what was given and what would do.
import test from 'ava';
import { formatSize, mergeLimitFlags, parseLimits, parseSize, parseUlimit } from '../../src/limits/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';

const MiB = 1024 ** 2;

test('sizes as docker reads them: binary units, any case, optional b or ib', (t) => {
  t.is(parseSize('256m', '--memory'), 256 * MiB);
  t.is(parseSize('1g', '--memory'), 1024 * MiB);
  t.is(parseSize('1.5G', '--memory'), 1536 * MiB);
  t.is(parseSize('512MB', '--memory'), 512 * MiB);
  t.is(parseSize('2GiB', '--memory'), 2048 * MiB);
  t.is(parseSize('65536', '--memory'), 65536);
  t.is(parseSize('64k', '--memory'), 65536);
});

test('a bad size names the flag and the value', (t) => {
  for (const bad of ['', 'lots', '12x', '-5m', 'm', '1.2.3g']) {
    const err = t.throws(() => parseSize(bad, '--shm-size'));
    t.is(err?.message, `invalid --shm-size "${bad}": expected a size such as 512m or 2g`);
  }
});

test('sizes in messages', (t) => {
  t.is(formatSize(256 * MiB), '256 MiB');
  t.is(formatSize(1536 * MiB), '1.5 GiB');
  t.is(formatSize(48 * MiB), '48 MiB');
  t.is(formatSize(500), '500 B');
});

test('--ulimit name=soft[:hard], unlimited as -1', (t) => {
  t.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
  t.deepEqual(parseUlimit('nproc=512'), { name: 'nproc', soft: 512, hard: 512 });
  t.deepEqual(parseUlimit('memlock=-1:-1'), { name: 'memlock', soft: -1, hard: -1 });
  t.deepEqual(parseUlimit('core=0:unlimited'), { name: 'core', soft: 0, hard: -1 });
});

test('a bad --ulimit says what is wrong', (t) => {
  t.is(t.throws(() => parseUlimit('nofiles=10'))?.message, 'invalid --ulimit "nofiles=10": unknown limit "nofiles"');
  t.is(t.throws(() => parseUlimit('nofile'))?.message, 'invalid --ulimit "nofile": expected name=soft[:hard]');
  t.is(t.throws(() => parseUlimit('nofile=2048:1024'))?.message, 'invalid --ulimit "nofile=2048:1024": the soft limit 2048 is above the hard limit 1024');
  t.is(t.throws(() => parseUlimit('nofile=many'))?.message, 'invalid --ulimit "nofile=many": "many" is not a whole number or -1 (unlimited)');
  t.is(t.throws(() => parseUlimit('nofile=1:2:3'))?.message, 'invalid --ulimit "nofile=1:2:3": expected name=soft[:hard]');
  t.is(t.throws(() => parseUlimit('nofile=-1'))?.message, 'invalid --ulimit "nofile=-1": nofile cannot be unlimited');
});

test('a full set of flags becomes typed limits', (t) => {
  t.deepEqual(parseLimits({
    memory: '256m', memorySwap: '1g', cpus: '1.5', cpuShares: '512', pidsLimit: '100', shmSize: '128m', ulimits: ['nofile=10:20', 'nofile=30:40', 'core=0'],
  }, 4), {
    memory: 256 * MiB, memorySwap: 1024 * MiB, cpus: 1.5, cpuShares: 512, pidsLimit: 100, shmSize: 128 * MiB,
    ulimits: [{ name: 'nofile', soft: 30, hard: 40 }, { name: 'core', soft: 0, hard: 0 }],
  });
  t.deepEqual(parseLimits({ cpuQuota: '50000', cpuPeriod: '100000' }, 4), { cpuQuota: 50000, cpuPeriod: 100000 });
  t.deepEqual(parseLimits({}, 4), {});
  // 0 and -1 are docker's "unlimited"
  t.deepEqual(parseLimits({ pidsLimit: '-1' }, 4), {});
  t.deepEqual(parseLimits({ memory: '64m', memorySwap: '-1' }, 4), { memory: 64 * MiB, memorySwap: -1 });
});

test('docker\'s rules between the flags', (t) => {
  const message = (f: Parameters<typeof parseLimits>[0]) => {
    const err = t.throws(() => parseLimits(f, 2));
    t.true(isTsbuildError(err) && err.code === 'OPTION_INVALID');
    return err?.message;
  };
  t.is(message({ memory: '4m' }), '--memory 4m is too small: the least is 6m');
  t.is(message({ memorySwap: '1g' }), '--memory-swap needs --memory');
  t.is(message({ memory: '1g', memorySwap: '512m' }), '--memory-swap 512m is less than --memory 1g');
  t.is(message({ cpus: '4' }), '--cpus 4 is more than the 2 CPUs available');
  t.is(message({ cpus: '0' }), 'invalid --cpus "0": expected a number of CPUs greater than 0, such as 1.5');
  t.is(message({ cpus: '1', cpuQuota: '50000' }), '--cpus cannot be combined with --cpu-quota or --cpu-period');
  t.is(message({ cpuShares: 'lots' }), 'invalid --cpu-shares "lots": expected a whole number of at least 2');
  t.is(message({ shmSize: '0' }), '--shm-size must be more than 0');
});

test('the command line overrides the config file by group, ulimits by name', (t) => {
  const merged = mergeLimitFlags({ cpus: '1', memory: '1g', memorySwap: '2g', shmSize: '128m', ulimits: ['nofile=1:2', 'core=0'] }, { cpuQuota: '50000', memory: '512m', ulimits: ['nofile=3:4'] });
  t.deepEqual(parseLimits(merged, 2), {
    memory: 512 * MiB, cpuQuota: 50000, shmSize: 128 * MiB,
    ulimits: [{ name: 'nofile', soft: 3, hard: 4 }, { name: 'core', soft: 0, hard: 0 }],
  });
});
