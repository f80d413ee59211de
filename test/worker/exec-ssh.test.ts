// RUN --mount=type=ssh with real runc and a real OpenSSH agent: the step's ssh-add lists the key
// through the forwarded socket, cannot change the agent, and nothing of it stays in the layer.
import test from 'ava';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecMount, SshMount } from '../../src/llb/index.ts';
import { createBusyboxRootfs } from '../_support/busybox-rootfs.ts';
import { copySshAdd, startTestAgent } from '../_support/ssh-agent.ts';
import { copyAll, createTestWorker, layerEntries, run } from './_setup.ts';
import { openContentStore } from '../../src/content/index.ts';
import { silentProgress } from '../../src/progress/index.ts';
import { openDatabase, statePaths } from '../../src/state/index.ts';
import { openWorker } from '../../worker/index.ts';
import { removalsSettled } from '../../worker/snapshot/background-removal.ts';

const sshMount = (extra: Partial<SshMount> = {}): SshMount => ({ type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', required: true, mode: 0o600, uid: 0, gid: 0, ...extra });
const tsbuildSshDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('tsbuild-ssh-'));

// serial with the fallback test below: both count the socket dirs under the system temp dir
test.serial('a RUN lists the forwarded key, cannot remove it, and leaves no socket in the layer', async (t) => {
  const w = await createTestWorker();
  const agent = await startTestAgent();
  const rootfs = createBusyboxRootfs();
  t.teardown(() => rmSync(rootfs, { recursive: true, force: true }));
  try {
    copySshAdd(rootfs);
    const base = await w.worker.run(copyAll(), [{ type: 'local', dir: rootfs, excludePatterns: [] }], w.ctx);
    const dirsBefore = tsbuildSshDirs();
    const mounts: ExecMount[] = [{ type: 'root', input: 0 }, sshMount(), sshMount({ id: 'other', target: '/tmp/agent', required: false })];
    const script = [
      'ssh-add -l > /out/keys',
      'stat -c "%a %u:%g %F" /run/buildkit/ssh_agent.0 > /out/sock',
      // read-only: removing every key and locking the agent are refused
      'if ssh-add -D 2>/dev/null; then echo removed; else echo refused; fi > /out/delete',
      'if echo pw | ssh-add -x 2>/dev/null; then echo locked; else echo refused; fi > /out/lock',
      'test -e /tmp/agent && echo mounted > /out/optional || echo absent > /out/optional',
    ].join('; ');
    const id = await w.worker.run(run(`mkdir /out; ${script}`, { mounts, env: ['SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0'] }), [{ type: 'snapshot', id: base }], { ...w.ctx, sshAgents: new Map([['default', agent.socket]]) });
    const out = (f: string) => readFileSync(join(w.root, 'snapshots', id, 'fs/out', f), 'utf8').trim();
    t.true(out('keys').includes(agent.fingerprint), out('keys'));
    t.is(out('sock'), '600 0:0 socket');
    t.is(out('delete'), 'refused');
    t.is(out('lock'), 'refused');
    t.is(out('optional'), 'absent', 'an optional agent that was not given is not mounted');
    t.deepEqual((await layerEntries(w, id)).map((e) => e.name.replace(/\/$/, '')).sort(), ['out', 'out/delete', 'out/keys', 'out/lock', 'out/optional', 'out/sock']);
    // the step's scratch is removed in the background (worker/snapshot/background-removal.ts)
    await removalsSettled();
    t.deepEqual(readdirSync(join(w.root, 'tmp')), [], 'the run dir with the forwarding socket is removed after the run');
    t.deepEqual(tsbuildSshDirs(), dirsBefore, 'no socket dir under the system temp dir either');
  } finally {
    await agent.stop();
    await w.cleanup();
  }
});

test('the socket takes the mount mode and owner, for a step run as another user', async (t) => {
  const w = await createTestWorker();
  const agent = await startTestAgent();
  const rootfs = createBusyboxRootfs({ files: { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' } });
  t.teardown(() => rmSync(rootfs, { recursive: true, force: true }));
  try {
    copySshAdd(rootfs);
    const base = await w.worker.run(copyAll(), [{ type: 'local', dir: rootfs, excludePatterns: [] }], w.ctx);
    const ctx = { ...w.ctx, sshAgents: new Map([['gh', agent.socket]]) };
    const mount = sshMount({ id: 'gh', target: '/home/app/agent', uid: 1000, gid: 1000, mode: 0o600 });
    const op = run('mkdir -p /tmp/o && ssh-add -l > /tmp/o/keys && stat -c "%a %u:%g" /home/app/agent > /tmp/o/sock', { mounts: [{ type: 'root', input: 0 }, mount], user: 'app', env: ['SSH_AUTH_SOCK=/home/app/agent'] });
    const id = await w.worker.run(op, [{ type: 'snapshot', id: base }], ctx);
    t.true(readFileSync(join(w.root, 'snapshots', id, 'fs/tmp/o/keys'), 'utf8').includes(agent.fingerprint));
    t.is(readFileSync(join(w.root, 'snapshots', id, 'fs/tmp/o/sock'), 'utf8').trim(), '600 1000:1000');
    // the same step as a user the socket does not belong to cannot reach the agent
    const denied = await t.throwsAsync(w.worker.run(run('ssh-add -l', { mounts: [{ type: 'root', input: 0 }, { ...mount, uid: 0, gid: 0 }], user: 'app', env: ['SSH_AUTH_SOCK=/home/app/agent'] }), [{ type: 'snapshot', id: base }], ctx));
    t.regex(denied?.message ?? '', /exit code: 2/);
  } finally {
    await agent.stop();
    await w.cleanup();
  }
});

test.serial('under a state root too deep for a socket path, the forward lives in a private dir under the temp dir', async (t) => {
  const root = join(tmpdir(), `tsbuild-deep-${'d'.repeat(60)}-${process.pid}`);
  mkdirSync(root);
  const db = openDatabase(statePaths(root).db);
  const worker = await openWorker({ root, db, content: openContentStore(statePaths(root).content) });
  const agent = await startTestAgent();
  const rootfs = createBusyboxRootfs();
  t.teardown(() => rmSync(rootfs, { recursive: true, force: true }));
  try {
    copySshAdd(rootfs);
    const ctx = { vertex: { digest: 'sha256:test', name: 'test' }, progress: silentProgress, signal: new AbortController().signal };
    const base = await worker.run(copyAll(), [{ type: 'local', dir: rootfs, excludePatterns: [] }], ctx);
    const dirsBefore = tsbuildSshDirs();
    let during: string[] = [];
    const id = await worker.run(run('ssh-add -l > /keys; echo ran', { mounts: [{ type: 'root', input: 0 }, sshMount()], env: ['SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0'] }), [{ type: 'snapshot', id: base }], {
      ...ctx,
      sshAgents: new Map([['default', agent.socket]]),
      progress: { emit: () => (during = tsbuildSshDirs()) },
    });
    t.true(readFileSync(join(root, 'snapshots', id, 'fs/keys'), 'utf8').includes(agent.fingerprint));
    t.is(during.length, dirsBefore.length + 1, 'a socket dir under the temp dir while it ran');
    t.deepEqual(tsbuildSshDirs(), dirsBefore, 'and removed after');
  } finally {
    await agent.stop();
    await worker.close();
    db.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(rootfs, { recursive: true, force: true });
  }
});
