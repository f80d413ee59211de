// The default `sandbox` network where it is installed (./provider.ts says when pasta is chosen):
// slirp4netns (Debian `slirp4netns`, as rootless Docker and BuildKit use it). Like pasta it works in
// user space and leaves nothing on the host side; unlike pasta it keeps the namespace alive while it
// runs, so it is killed, not merely orphaned, when its namespace goes. A killed build's ends by itself
// (its --exit-fd, ./slirp-process.ts); worker/recover.ts kills any still running.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { addNetns, deleteNetns } from './netns.ts';
import type { NetworkSandbox } from './pasta.ts';
import { startSlirp, type SlirpProcess } from './slirp-process.ts';

const startTimeoutMs = 10_000;

export function slirpArgs(nsPath: string): string[] {
  // 10.0.2.0/24 with the gateway at .2 and a DNS forwarder at .3; --disable-host-loopback keeps
  // the gateway from reaching the host's 127.0.0.1. The ready fd and the sandbox flags are added by
  // ./slirp-process.ts (--enable-sandbox only in a mount namespace of its own: in the host's, its
  // pivot_root propagates to the shared /run/netns and empties the namespace's file).
  return ['--configure', '--mtu=65520', '--disable-host-loopback', '--netns-type=path', nsPath, 'tap0'];
}

export async function createSlirpSandbox(name: string, tmpDir: string): Promise<NetworkSandbox> {
  const path = await addNetns(name).catch((e: unknown) => {
    throw unavailable(`cannot create network namespace ${name}`, e);
  });
  const log = join(tmpDir, `${name}.slirp.log`);
  const readyFifo = join(tmpDir, `${name}.slirp.ready`);
  const stderr = () => {
    try {
      return readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  };
  let child: SlirpProcess | undefined;
  const destroy = async () => {
    child?.kill();
    await deleteNetns(name);
    rmSync(log, { force: true });
  };
  try {
    child = await startSlirp(slirpArgs(path), { log, readyFifo });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`slirp4netns not ready after ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    });
    await Promise.race([child.ready, late]).finally(() => clearTimeout(timer));
  } catch (e) {
    const text = stderr();
    await destroy();
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw unavailable(missing ? 'the network sandbox needs pasta or slirp4netns; neither is installed' : `slirp4netns could not set up network namespace ${name}${text ? `: ${text}` : ''}`, e, missing);
  } finally {
    rmSync(readyFifo, { force: true });
  }
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
