// The issue 6 case: a real Debian base, apt over the real network, no extra flag. The base is
// debootstrap minbase from this machine's mirror, cached outside the repo (test/_support/debian-base.ts).
import test from 'ava';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { ensureDebianBase } from '../_support/debian-base.ts';
import { hostNetwork, rootNetns, rootPastas } from '../_support/network-leftovers.ts';

const root = tempDir('tsbuild-root-');
let layout = '';
test.before(async () => {
  layout = await ensureDebianBase();
});
test.after.always(() => removeDir(root));

const dockerfile = 'FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends hello && hello\n';

test.serial('RUN apt-get update && apt-get install hello builds with no flag, and leaves nothing on the host', async (t) => {
  const ctx = contextDir({ Dockerfile: dockerfile });
  const before = hostNetwork();
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `debian=oci-layout://${layout}`, '-t', 'hello', ctx], { root });
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /Setting up hello /);
    t.regex(r.stderr, /Hello, world!/);
  } finally {
    removeDir(ctx);
  }
  const after = hostNetwork();
  t.deepEqual(after.links, before.links);
  t.is(after.ruleset, before.ruleset);
  t.deepEqual(rootNetns(root), []);
  t.deepEqual(rootPastas(root), []);
});

test.serial('the same with --network none fails with apt\'s own reason', async (t) => {
  const ctx = contextDir({ Dockerfile: dockerfile });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--no-cache', '--network', 'none', '--build-context', `debian=oci-layout://${layout}`, ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /Temporary failure resolving|Unable to locate package hello/);
    t.regex(r.stderr, /did not complete successfully: exit code: 100/);
    t.regex(r.stderr, /Dockerfile:2/);
  } finally {
    removeDir(ctx);
  }
});
