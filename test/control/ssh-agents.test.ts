// --ssh: parsing, and the agents a build forwards: a socket as given, key files through an
// ssh-agent of tsbuild's own (a real one), and the mistakes a user makes, each one clear line.
import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseSsh } from '../../control/options.ts';
import { openSshAgents } from '../../control/ssh-agents.ts';
import { startTestAgent } from '../_support/ssh-agent.ts';

const execFileP = promisify(execFile);
const listKeys = async (socket: string) => (await execFileP('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: 'utf8' })).stdout;

test('--ssh parses as docker buildx reads it', (t) => {
  t.deepEqual(parseSsh('default'), { id: 'default', paths: [] });
  t.deepEqual(parseSsh('gh=keys/a,/k/b', '/work'), { id: 'gh', paths: ['/work/keys/a', '/k/b'] });
  t.deepEqual(parseSsh('default='), { id: 'default', paths: [] });
  t.throws(() => parseSsh('=x'), { message: 'invalid --ssh "=x": "" is not an id' });
  t.throws(() => parseSsh('a b=x'), { message: /is not an id/ });
});

test('default takes $SSH_AUTH_SOCK; a socket path is used as it is', async (t) => {
  const agent = await startTestAgent();
  try {
    const a = await openSshAgents([{ id: 'default', paths: [] }, { id: 'gh', paths: [agent.socket] }], { SSH_AUTH_SOCK: agent.socket });
    t.deepEqual([...a.sockets], [['default', agent.socket], ['gh', agent.socket]]);
    await a.close();
    t.true((await listKeys(agent.socket)).includes(agent.fingerprint), 'closing leaves the user\'s agent alone');
  } finally {
    await agent.stop();
  }
});

test('key files are served by an agent of our own, stopped and removed on close', async (t) => {
  const agent = await startTestAgent({ load: false });
  try {
    execFileSync('chmod', ['0644', agent.keyFile]); // a CI checkout: ssh-add would refuse the file itself
    const a = await openSshAgents([{ id: 'deploy', paths: [agent.keyFile] }], {});
    const socket = a.sockets.get('deploy')!;
    t.not(socket, agent.socket);
    t.true((await listKeys(socket)).includes(agent.fingerprint));
    await a.close();
    t.false(existsSync(dirname(socket)), 'its private dir is gone');
    await t.throwsAsync(listKeys(socket), undefined, 'the agent is stopped');
  } finally {
    await agent.stop();
  }
});

test('mistakes are one clear line each', async (t) => {
  const agent = await startTestAgent({ load: false });
  const dir = dirname(agent.keyFile);
  try {
    const e = (specs: Parameters<typeof openSshAgents>[0], env: NodeJS.ProcessEnv = {}) => t.throwsAsync(openSshAgents(specs, env));
    t.is((await e([{ id: 'default', paths: [] }]))?.message, '--ssh default: SSH_AUTH_SOCK is not set, so there is no agent to forward');
    t.is((await e([{ id: 'x', paths: ['/nowhere/key'] }]))?.message, '--ssh x: /nowhere/key does not exist');
    t.is((await e([{ id: 'x', paths: [agent.socket, agent.keyFile] }]))?.message, '--ssh x: give one agent socket, or key files, not both or several sockets');
    t.is((await e([{ id: 'x', paths: [agent.socket] }, { id: 'x', paths: [agent.socket] }]))?.message, '--ssh x is given twice');
    t.is((await e([{ id: 'x', paths: [dir] }]))?.message, `--ssh x: ${dir} is neither an agent socket nor a key file`);
    const enc = join(dir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'passphrase', '-f', enc]);
    const notKey = join(dir, 'notes.txt');
    writeFileSync(notKey, 'not a key\n');
    for (const p of [enc, notKey]) {
      const err = await e([{ id: 'x', paths: [p] }]);
      t.is(err?.message, `--ssh x: cannot load the private key ${p}: it is not one, or it is protected by a passphrase, which tsbuild cannot ask for`);
    }
  } finally {
    await agent.stop();
  }
});

test('the agent for key files dies with tsbuild, even on kill -9', async (t) => {
  const agent = await startTestAgent({ load: false });
  const module = new URL('../../control/ssh-agents.ts', import.meta.url).pathname;
  const script = `const { openSshAgents } = await import(${JSON.stringify(module)}); const a = await openSshAgents([{ id: 'k', paths: [${JSON.stringify(agent.keyFile)}] }], {}); console.log(a.sockets.get('k')); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const socket = line.toString().trim();
    t.true((await listKeys(socket)).includes(agent.fingerprint));
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    // ssh-agent checks every 10 s that its command (a shell on our pipe) lives
    let alive = true;
    for (let i = 0; i < 60 && alive; i++) {
      await new Promise((r) => setTimeout(r, 250));
      alive = await listKeys(socket).then(() => true, () => false);
    }
    t.false(alive, 'no agent answers on the socket any more');
    t.false(existsSync(dirname(socket)), 'the agent removed its socket and directory on the way out');
  } finally {
    child.kill('SIGKILL');
    await agent.stop();
  }
});
