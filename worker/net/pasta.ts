// The `sandbox` network through pasta (Debian `passt`): a user-mode network stack that gives the
// namespace a tap interface with the host's addresses and routes, and relays its TCP/UDP/ICMP
// through ordinary sockets of the host. Nothing appears on the host side: no bridge, no veth, no
// iptables or nftables rule, no address range to share with other processes. Why pasta over the
// CNI bridge: docs/network.md.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { addNetns, deleteNetns, netnsHelpers } from './netns.ts';
import { quickExec } from '../helper-exec.ts';

// pasta forks into the background once the namespace is configured; 10 s covers a loaded machine
const startTimeoutMs = 10_000;

/** One configured namespace. `destroy` is idempotent. */
export interface NetworkSandbox {
  name: string;
  path: string;
  destroy(): Promise<void>;
}

/** The flags: configure the namespace, and forward nothing between its loopback and the host's. */
export function pastaArgs(nsPath: string, pidFile: string): string[] {
  return [
    '--config-net', '--netns', nsPath,
    // as root pasta would switch to nobody and then fail to enter the namespace (passt 2023-03)
    '--runas', '0',
    '--quiet', '--pid', pidFile,
    // no port forwarding either way: the host's 127.0.0.1 services stay out of reach, and nothing
    // on the host can connect into the step
    '-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none',
    // by default pasta maps the gateway address to the host's loopback: that would reach host-only services
    '--no-map-gw',
  ];
}

/** Creates the named namespace and starts pasta on it; on failure nothing is left. */
export async function createPastaSandbox(name: string, tmpDir: string): Promise<NetworkSandbox> {
  const path = await addNetns(name).catch((e: unknown) => {
    throw unavailable(`cannot create network namespace ${name}`, e);
  });
  const pidFile = join(tmpDir, `${name}.pasta.pid`);
  let pid: number | undefined;
  const destroy = async () => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone already: pasta also quits by itself once the namespace name is removed
      }
      pid = undefined;
    }
    await deleteNetns(name);
  };
  try {
    await quickExec('pasta', pastaArgs(path, pidFile), { timeoutMs: startTimeoutMs, tmpDir });
    pid = Number((await readFile(pidFile, 'utf8')).trim()) || undefined;
  } catch (e) {
    // a pasta that went to the background though its start failed (the syscall helper ended
    // while it ran): its pid file may not be read, so it is found by the namespace it serves
    for (const p of netnsHelpers(name)) {
      try {
        process.kill(p, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
    }
    await destroy();
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw unavailable(missing ? 'the network sandbox needs pasta, which is not installed' : `pasta could not set up network namespace ${name}`, e, missing);
  } finally {
    await rm(pidFile, { force: true });
  }
  return { name, path, destroy };
}

function unavailable(message: string, cause: unknown, missing = false): TsbuildError {
  const stderr = (cause as { stderr?: string }).stderr?.trim();
  return new TsbuildError(message, {
    code: ErrorCodes.NETWORK_UNAVAILABLE,
    kind: 'unavailable',
    cause,
    details: stderr ? stderr.split('\n').slice(-5) : undefined,
    hint: missing ? 'install it (apt-get install passt; slirp4netns also works), or build with --network none if no step needs the network' : 'build with --network none if no step needs the network',
  });
}
