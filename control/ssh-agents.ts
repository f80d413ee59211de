// `--ssh` specs → one agent socket per id, for RUN --mount=type=ssh. As docker buildx reads them:
// no path means $SSH_AUTH_SOCK, one socket is used as it is, and private key files are served by
// an agent of our own: OpenSSH's ssh-agent (Debian openssh-client), started for the build and
// stopped after it. It makes its own 0700 directory under $TMPDIR for its socket and removes both
// when it exits. Its command is a shell waiting on a pipe from us, and ssh-agent exits when its
// command does: so when tsbuild dies, even by kill -9, the pipe closes and the agent and its keys
// go too. (setpriv --pdeathsig cannot do this: ssh-agent is setgid, and that exec clears it.)
// Keys reach it through ssh-add's stdin, so a key file readable by others (a CI checkout) is
// accepted, as BuildKit accepts it, where `ssh-add FILE` would refuse it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, TsbuildError, invalid } from '../src/errors/index.ts';
import type { SshSpec } from './options.ts';

/** BuildKit reads at most this much of a key file (sshprovider); a private key is a few KiB. */
const maxKeyBytes = 100 * 1024;
// ssh-agent binds its socket within milliseconds; this only bounds a broken install
const agentStartTimeoutMs = 5000;

export interface SshAgents {
  /** Agent socket by id. */
  sockets: ReadonlyMap<string, string>;
  /** Stops the agents started for key files and removes their keys; never rejects. */
  close(): Promise<void>;
}

export async function openSshAgents(specs: readonly SshSpec[], env: NodeJS.ProcessEnv = process.env): Promise<SshAgents> {
  const sockets = new Map<string, string>();
  const started: Agent[] = [];
  const close = async () => {
    for (const a of started.splice(0)) await stopAgent(a);
  };
  try {
    for (const spec of specs) {
      if (sockets.has(spec.id)) throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${spec.id} is given twice`, { hint: 'give each id once; list several keys as ID=KEY1,KEY2' });
      const kinds = await Promise.all(spec.paths.map((p) => pathKind(spec.id, p)));
      if (spec.paths.length === 0) {
        const sock = env.SSH_AUTH_SOCK;
        if (!sock) throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${spec.id}: SSH_AUTH_SOCK is not set, so there is no agent to forward`, { hint: `start one (eval "$(ssh-agent)"; ssh-add) or pass --ssh ${spec.id}=SOCKET_OR_KEYFILE` });
        if ((await pathKind(spec.id, sock)) !== 'socket') throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${spec.id}: SSH_AUTH_SOCK (${sock}) is not a socket`);
        sockets.set(spec.id, sock);
      } else if (kinds.includes('socket')) {
        if (spec.paths.length > 1) throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${spec.id}: give one agent socket, or key files, not both or several sockets`);
        sockets.set(spec.id, spec.paths[0]);
      } else {
        const agent = await startAgent();
        started.push(agent);
        for (const path of spec.paths) await addKey(agent.socket, spec.id, path);
        sockets.set(spec.id, agent.socket);
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { sockets, close };
}

async function pathKind(id: string, path: string): Promise<'socket' | 'file'> {
  let s;
  try {
    s = await stat(path);
  } catch {
    throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${id}: ${path} does not exist`);
  }
  if (s.isSocket()) return 'socket';
  if (s.isFile()) return 'file';
  throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${id}: ${path} is neither an agent socket nor a key file`);
}

interface Agent {
  /** The command ssh-agent runs: a shell reading our pipe. */
  child: ChildProcess;
  pid: number;
  socket: string;
}

/** Resolves once the agent has removed its socket and directory (or after a second, when it is stuck). */
async function stopAgent(a: Agent): Promise<void> {
  // SIGTERM: ssh-agent removes its socket and directory and exits
  try {
    process.kill(a.pid, 'SIGTERM');
  } catch {
    // gone already
  }
  a.child.stdin?.destroy();
  for (let i = 0; i < 100 && existsSync(dirname(a.socket)); i++) await new Promise((r) => setTimeout(r, 10));
  a.child.kill('SIGKILL');
}

async function startAgent(): Promise<Agent> {
  // the socket listens before the command starts; the command tells us the agent's pid and socket
  const child = spawn('ssh-agent', ['--', 'sh', '-c', 'echo "$SSH_AGENT_PID $SSH_AUTH_SOCK"; read -r _'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.resume();
  child.stdin!.on('error', () => undefined);
  try {
    const ready = once(child.stdout!, 'data') as Promise<[Buffer]>;
    const failed = once(child, 'exit').then(() => {
      throw new Error('exited');
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), agentStartTimeoutMs).unref());
    const [line] = await Promise.race([ready, failed, timeout]);
    const m = /^(\d+) (\/\S+)\n/.exec(line.toString());
    if (!m || Number(m[1]) <= 1) throw new Error(`no agent pid and socket in ${JSON.stringify(line.toString())}`);
    child.stdout!.resume();
    return { child, pid: Number(m[1]), socket: m[2] };
  } catch (e) {
    child.stdin!.destroy();
    child.kill('SIGKILL');
    throw new TsbuildError('--ssh with key files: could not start ssh-agent to serve them', {
      code: ErrorCodes.RUNTIME_UNAVAILABLE,
      kind: 'unavailable',
      hint: 'install openssh-client (ssh-agent, ssh-add), or pass an agent socket instead of key files',
      cause: e,
    });
  }
}

async function addKey(socket: string, id: string, path: string): Promise<void> {
  const key = await readKey(id, path);
  // no terminal and an askpass that declines: a key with a passphrase fails instead of prompting
  const child = spawn('ssh-add', ['-q', '-'], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
    env: { PATH: process.env.PATH, SSH_AUTH_SOCK: socket, SSH_ASKPASS: '/bin/false', SSH_ASKPASS_REQUIRE: 'force' },
  });
  const exited = once(child, 'close') as Promise<[number | null]>;
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(key);
  const [code] = await exited.catch(() => [null]);
  key.fill(0);
  if (code !== 0) {
    throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${id}: cannot load the private key ${path}: it is not one, or it is protected by a passphrase, which tsbuild cannot ask for`, {
      hint: `add it to your agent (ssh-add ${path}) and pass --ssh ${id}=$SSH_AUTH_SOCK`,
    });
  }
}

async function readKey(id: string, path: string): Promise<Buffer> {
  const f = await open(path, 'r').catch(() => {
    throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${id}: cannot read ${path}`);
  });
  try {
    const buf = Buffer.alloc(maxKeyBytes + 1);
    const { bytesRead } = await f.read(buf, 0, buf.length, 0);
    if (bytesRead > maxKeyBytes) throw invalid(ErrorCodes.OPTION_INVALID, `--ssh ${id}: ${path} is larger than ${maxKeyBytes / 1024} KiB: not a private key`);
    return buf.subarray(0, bytesRead);
  } finally {
    await f.close();
  }
}
