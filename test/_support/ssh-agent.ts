// A real OpenSSH agent holding a fresh key, and Debian's ssh-add with its libraries for a test
// rootfs (busybox has no agent client), for the RUN --mount=type=ssh tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TestAgent {
  socket: string;
  /** An unencrypted ed25519 private key file (mode 0600), also loaded into the agent. */
  keyFile: string;
  /** `SHA256:...`, as `ssh-add -l` prints it. */
  fingerprint: string;
  /** The public key blob, as the agent protocol carries it. */
  keyBlob: Buffer;
  stop(): Promise<void>;
}

export async function startTestAgent(opts: { load?: boolean } = {}): Promise<TestAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-test-agent-'));
  const keyFile = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsbuild-test', '-f', keyFile]);
  const socket = join(dir, 'agent.sock');
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'ssh-agent', '-D', '-a', socket], { stdio: ['ignore', 'pipe', 'ignore'] });
  await once(child.stdout!, 'data');
  child.stdout!.resume();
  if (opts.load !== false) execFileSync('ssh-add', ['-q', keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
  const keyBlob = Buffer.from(readFileSync(`${keyFile}.pub`, 'utf8').split(' ')[1], 'base64');
  return {
    socket, keyFile, fingerprint, keyBlob,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Copies /usr/bin/ssh-add and the shared libraries it loads into `root`, at the same paths. */
export function copySshAdd(root: string): void {
  const files = ['/usr/bin/ssh-add'];
  for (const line of execFileSync('ldd', ['/usr/bin/ssh-add'], { encoding: 'utf8' }).split('\n')) {
    const m = /(\/\S+) \(0x/.exec(line);
    if (m) files.push(m[1]);
  }
  for (const f of files) {
    mkdirSync(join(root, dirname(f)), { recursive: true });
    copyFileSync(f, join(root, f));
  }
}
