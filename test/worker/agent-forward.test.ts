// The forwarding socket of RUN --mount=type=ssh, against a real OpenSSH agent: listing and signing
// pass, everything that would change or probe the agent gets SSH_AGENT_FAILURE.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentMessages, forwardAgent, frame, readMessages } from '../../worker/exec/agent-forward.ts';
import { startTestAgent, type TestAgent } from '../_support/ssh-agent.ts';

const execFileP = promisify(execFile);

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

async function withForward(t: ExecutionContext, fn: (agent: TestAgent, socket: string) => Promise<void>) {
  const agent = await startTestAgent();
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-fwd-'));
  const socket = join(dir, 'agent.sock');
  const close = await forwardAgent({ agent: agent.socket, socket, mode: 0o640, uid: 1000, gid: 1001 });
  try {
    await fn(agent, socket);
  } finally {
    await close();
    t.false(existsSync(socket), 'closing the forward removes its socket');
    rmSync(dir, { recursive: true, force: true });
    await agent.stop();
  }
}

/** A client that sends messages and reads one reply each. */
async function client(socket: string) {
  const c: Socket = connect(socket);
  await once(c, 'connect');
  const replies = readMessages(c)[Symbol.asyncIterator]();
  return {
    async ask(msg: Buffer): Promise<Buffer | undefined> {
      c.write(frame(msg));
      const r = await replies.next();
      return r.done ? undefined : r.value;
    },
    raw: c,
    close: () => c.destroy(),
  };
}

// async: the forward serves from this process, so a blocking ssh-add would wait on itself
const agentKeys = async (socket: string) => (await execFileP('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: 'utf8' })).stdout;

test('ssh-add lists the key through the forward; socket has the mount mode and owner; close removes it', (t) =>
  withForward(t, async (agent, socket) => {
    const s = statSync(socket);
    t.true(s.isSocket());
    t.is(s.mode & 0o7777, 0o640);
    t.is(`${s.uid}:${s.gid}`, '1000:1001');
    t.true((await agentKeys(socket)).includes(agent.fingerprint));
  }));

test('signing passes; adding, removing, locking and extensions are refused and the agent keeps its key', (t) =>
  withForward(t, async (agent, socket) => {
    const c = await client(socket);
    const ids = await c.ask(Buffer.from([AgentMessages.REQUEST_IDENTITIES]));
    t.is(ids?.[0], AgentMessages.IDENTITIES_ANSWER);
    t.is(ids?.readUInt32BE(1), 1);
    const sign = Buffer.concat([Buffer.from([AgentMessages.SIGN_REQUEST]), sshString(agent.keyBlob), sshString('data to sign'), Buffer.alloc(4)]);
    const sig = await c.ask(sign);
    t.is(sig?.[0], AgentMessages.SIGN_RESPONSE);
    t.true(sig!.includes(Buffer.from('ssh-ed25519')));

    const refused = {
      'remove all identities': Buffer.from([19]),
      'remove identity': Buffer.concat([Buffer.from([18]), sshString(agent.keyBlob)]),
      lock: Buffer.concat([Buffer.from([22]), sshString('pw')]),
      unlock: Buffer.concat([Buffer.from([23]), sshString('pw')]),
      'add identity': Buffer.concat([Buffer.from([17]), sshString('ssh-ed25519'), sshString(Buffer.alloc(32)), sshString(Buffer.alloc(64)), sshString('x')]),
      extension: Buffer.concat([Buffer.from([27]), sshString('session-bind@openssh.com')]),
      'unknown type': Buffer.from([200]),
    };
    for (const [what, msg] of Object.entries(refused)) t.deepEqual(await c.ask(msg), Buffer.from([AgentMessages.FAILURE]), what);
    c.close();
    // a direct client still sees the key: nothing above reached the agent
    t.true((await agentKeys(agent.socket)).includes(agent.fingerprint));
  }));

test('an oversized message ends only that connection', (t) =>
  withForward(t, async (agent, socket) => {
    const c = await client(socket);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(16 * 1024 * 1024);
    head[4] = AgentMessages.SIGN_REQUEST;
    c.raw.write(head);
    await once(c.raw, 'close');
    t.true((await agentKeys(socket)).includes(agent.fingerprint), 'a new connection still works');
  }));

test('an agent that went away answers FAILURE instead of hanging', (t) =>
  withForward(t, async (agent, socket) => {
    await agent.stop();
    const c = await client(socket);
    t.deepEqual(await c.ask(Buffer.from([AgentMessages.REQUEST_IDENTITIES])), Buffer.from([AgentMessages.FAILURE]));
    c.close();
  }));
