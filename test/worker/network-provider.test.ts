// Which program sets up `sandbox` namespaces, and the error when none is installed.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { chooseNetworkProvider, namesIpv4Server, parseNetworkProvider } from '../../worker/net/provider.ts';
import { createPastaSandbox } from '../../worker/net/pasta.ts';
import { listNetns } from '../../worker/net/netns.ts';
import { startSlirp } from '../../worker/net/slirp-process.ts';

test('slirp4netns when installed and a step can resolve names over IPv4, else pasta, else slirp4netns, else pasta (whose error says what to install); a preference wins', (t) => {
  const v4 = () => 'nameserver 10.255.255.53\n';
  const v6Only = () => 'search example.org\nnameserver 2001:db8::53\n';
  t.is(chooseNetworkProvider(undefined, () => true, v4), 'slirp4netns');
  t.is(chooseNetworkProvider(undefined, () => true, v6Only), 'pasta', 'slirp4netns gives steps IPv4 only');
  t.is(chooseNetworkProvider(undefined, (c) => c === 'pasta', v4), 'pasta');
  t.is(chooseNetworkProvider(undefined, (c) => c === 'slirp4netns', v6Only), 'slirp4netns');
  t.is(chooseNetworkProvider(undefined, () => false, v4), 'pasta');
  t.is(chooseNetworkProvider('pasta', () => true, v4), 'pasta');
  t.is(chooseNetworkProvider('slirp4netns', () => true, v6Only), 'slirp4netns');
  t.is(parseNetworkProvider('pasta'), 'pasta');
  t.throws(() => parseNetworkProvider('cni'), { message: /unknown sandbox network provider "cni"/ });
});

test('an IPv4 nameserver is told from IPv6 ones and from other lines', (t) => {
  t.true(namesIpv4Server('nameserver 8.8.8.8\nnameserver 2001:4860:4860::8888\n'));
  t.true(namesIpv4Server('options ndots:2\n  nameserver\t192.0.2.1'));
  t.false(namesIpv4Server('nameserver ::ffff:192.0.2.1\n# nameserver 192.0.2.1\nsearch 1.2.3.4\n'));
  t.false(namesIpv4Server(''));
});

test.serial('without pasta on PATH a sandbox step fails with NETWORK_UNAVAILABLE naming the package, and leaves no namespace', async (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'tsbuild-path-'));
  symlinkSync(execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim(), join(bin, 'ip'));
  const saved = process.env.PATH;
  process.env.PATH = bin;
  try {
    const e = await t.throwsAsync(createPastaSandbox('tsb-nopasta-00000000', bin));
    t.true(isTsbuildError(e));
    t.like(e, { code: 'NETWORK_UNAVAILABLE', kind: 'unavailable', message: 'the network sandbox needs pasta, which is not installed' });
    t.regex((e as { hint?: string }).hint ?? '', /apt-get install passt/);
  } finally {
    process.env.PATH = saved;
    rmSync(bin, { recursive: true, force: true });
  }
  t.deepEqual(listNetns('tsb-nopasta-'), []);
});

test('slirp4netns that cannot set up its namespace ends the start with its exit, its stderr in the log, and no FIFO reader left waiting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-slirp-'));
  try {
    const log = join(dir, 'slirp.log');
    const child = await startSlirp(['--configure', '--netns-type=path', join(dir, 'no-such-netns'), 'tap0'], { log, readyFifo: join(dir, 'ready') });
    await t.throwsAsync(child.ready, { message: /slirp4netns exited with 1/ });
    t.regex(readFileSync(log, 'utf8'), /existing path expected when --netns-type=path/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
