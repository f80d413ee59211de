// The fallback for the `sandbox` network when pasta is missing: slirp4netns (Debian `slirp4netns`,
// as rootless Docker and BuildKit use it). Like pasta it works in user space and leaves nothing on
// the host side; unlike pasta it keeps the namespace alive while it runs, so it is killed, not
// merely orphaned, when its namespace goes (worker/recover.ts kills a killed build's ones).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { addNetns, deleteNetns } from './netns.ts';
import type { NetworkSandbox } from './pasta.ts';

const startTimeoutMs = 10_000;

export function slirpArgs(nsPath: string): string[] {
  // 10.0.2.0/24 with the gateway at .2 and a DNS forwarder at .3; --disable-host-loopback keeps
  // the gateway from reaching the host's 127.0.0.1. Not --enable-sandbox: its pivot_root in a
  // private mount namespace propagates to the shared /run/netns and empties the namespace's file.
  return ['--configure', '--mtu=65520', '--disable-host-loopback', '--netns-type=path', '--ready-fd=3', nsPath, 'tap0'];
}

export async function createSlirpSandbox(name: string, tmpDir: string): Promise<NetworkSandbox> {
  const path = await addNetns(name).catch((e: unknown) => {
    throw unavailable(`cannot create network namespace ${name}`, e);
  });
  // its log goes to a file, not a pipe: a pipe we stop reading would kill it with SIGPIPE mid-build
  const log = join(tmpDir, `${name}.slirp.log`);
  const logFd = openSync(log, 'w');
  const child = spawn('slirp4netns', slirpArgs(path), { stdio: ['ignore', 'ignore', logFd, 'pipe'], detached: true });
  closeSync(logFd);
  const stderr = () => {
    try {
      return readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  };
  const destroy = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await deleteNetns(name);
    rmSync(log, { force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`slirp4netns not ready after ${startTimeoutMs / 1000} s`)), startTimeoutMs);
      const done = (e?: Error) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
      (child.stdio[3] as Readable).once('data', () => done());
      child.once('error', done);
      child.once('exit', (code) => done(new Error(`slirp4netns exited with ${code}: ${stderr()}`)));
    });
  } catch (e) {
    await destroy();
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw unavailable(missing ? 'the network sandbox needs pasta or slirp4netns; neither is installed' : `slirp4netns could not set up network namespace ${name}`, e, missing);
  }
  // it outlives no build: the pool destroys it, and a killed build's is killed at the next start
  child.removeAllListeners('exit');
  (child.stdio[3] as Readable).destroy();
  child.unref();
  return { name, path, destroy };
}

function unavailable(message: string, cause: unknown, missing = false): TsbuildError {
  return new TsbuildError(message, {
    code: ErrorCodes.NETWORK_UNAVAILABLE,
    kind: 'unavailable',
    cause,
    hint: missing ? 'install one (apt-get install passt), or build with --network none if no step needs the network' : 'build with --network none if no step needs the network',
  });
}
