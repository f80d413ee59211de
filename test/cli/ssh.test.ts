// tsbuild build --ssh with a real OpenSSH agent and real runc: a RUN lists the user's key with
// ssh-add, key files work through an agent of tsbuild's own, the agent is not part of the cache
// key, and a missing required agent names the line and the flag.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copySshAdd, startTestAgent, type TestAgent } from '../_support/ssh-agent.ts';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const root = tempDir('tsbuild-root-');
let agent: TestAgent;
test.before(async () => {
  await buildBusybox(root);
  agent = await startTestAgent();
});
test.after.always(async () => {
  await agent?.stop();
  removeDir(root);
});

/** A context whose Dockerfile puts ssh-add (from the host, with its libraries) into busybox first. */
function sshContext(run: string): string {
  const ctx = contextDir({ Dockerfile: `FROM busybox\nCOPY tools/ /\n${run}\n` });
  copySshAdd(join(ctx, 'tools'));
  return ctx;
}

test('--ssh default forwards $SSH_AUTH_SOCK: the RUN lists the key, and SSH_AUTH_SOCK is set for it', async (t) => {
  const ctx = sshContext('RUN --mount=type=ssh mkdir /out && ssh-add -l > /out/keys && echo "$SSH_AUTH_SOCK" > /out/sock');
  const out = tempDir('tsbuild-out-');
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--ssh', 'default', '-o', `type=local,dest=${out}`, ctx], { root, env: { SSH_AUTH_SOCK: agent.socket } });
    t.is(r.code, 0, r.stderr);
    t.true(readFileSync(join(out, 'out/keys'), 'utf8').includes(agent.fingerprint));
    t.is(readFileSync(join(out, 'out/sock'), 'utf8'), '/run/buildkit/ssh_agent.0\n');

    // which agent serves the id is not part of the key: another agent still hits the cache
    const other = await startTestAgent();
    try {
      const again = await runTsbuild(['build', '--progress', 'plain', '--ssh', `default=${other.socket}`, ctx], { root });
      t.is(again.code, 0, again.stderr);
      t.regex(again.stderr, /RUN --mount=type=ssh.*\n#\d+ CACHED/);
    } finally {
      await other.stop();
    }
  } finally {
    removeDir(ctx);
    removeDir(out);
  }
});

test('--ssh ID=KEYFILE serves the key to RUN --mount=type=ssh,id=ID', async (t) => {
  const ctx = sshContext('RUN --mount=type=ssh,id=deploy,required=true ssh-add -l > /keys');
  const out = tempDir('tsbuild-out-');
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', '--ssh', `deploy=${agent.keyFile}`, '-o', `type=local,dest=${out}`, ctx], { root, env: { SSH_AUTH_SOCK: '' } });
    t.is(r.code, 0, r.stderr);
    t.true(readFileSync(join(out, 'keys'), 'utf8').includes(agent.fingerprint));
  } finally {
    removeDir(ctx);
    removeDir(out);
  }
});

test('a required agent that was not given names the line and --ssh', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo first\nRUN --mount=type=ssh,id=gh,required=true git clone git@github.com:org/repo\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root });
    t.is(r.code, 1);
    t.regex(r.stderr, /ssh agent "gh" is required by a RUN --mount=type=ssh but was not given/);
    t.regex(r.stderr, /Dockerfile:3/);
    t.regex(r.stderr, /--ssh gh=/);
    t.false(r.stderr.includes('    at '), 'no stack trace');
  } finally {
    removeDir(ctx);
  }
});

test('a bad --ssh is one clear line', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN --mount=type=ssh true\n' });
  try {
    const r = await runTsbuild(['build', '--ssh', 'default', ctx], { root, env: { SSH_AUTH_SOCK: '' } });
    t.is(r.code, 1);
    t.regex(r.stderr, /^ERROR: --ssh default: SSH_AUTH_SOCK is not set, so there is no agent to forward/m);
  } finally {
    removeDir(ctx);
  }
});
