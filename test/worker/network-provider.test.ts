// Which program sets up `sandbox` namespaces, and the error when none is installed.
import test from 'ava';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsbuildError } from '../../src/errors/index.ts';
import { chooseNetworkProvider, parseNetworkProvider } from '../../worker/net/provider.ts';
import { createPastaSandbox } from '../../worker/net/pasta.ts';
import { listNetns } from '../../worker/net/netns.ts';

test('pasta when installed, else slirp4netns, else pasta (whose error says what to install); a preference wins', (t) => {
  t.is(chooseNetworkProvider(undefined, () => true), 'pasta');
  t.is(chooseNetworkProvider(undefined, (c) => c === 'slirp4netns'), 'slirp4netns');
  t.is(chooseNetworkProvider(undefined, () => false), 'pasta');
  t.is(chooseNetworkProvider('slirp4netns', () => true), 'slirp4netns');
  t.is(parseNetworkProvider('pasta'), 'pasta');
  t.throws(() => parseNetworkProvider('cni'), { message: /unknown sandbox network provider "cni"/ });
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
