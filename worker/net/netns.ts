// Named network namespaces (`ip netns`, iproute2): a bind mount of the namespace at
// /run/netns/<name>, which runc joins through the spec's `linux.namespaces[].path`.
//
// Names are `tsb-<root tag>-<random>`: the tag (from the state root's real path) keeps two tsbuild
// processes on different roots apart, and lets start-up recovery find what a killed process of
// the same root left (worker/recover.ts) without touching another root's namespaces.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { rootTag } from '../../src/state/index.ts';
import { quickExec } from '../helper-exec.ts';
import { pidsWhere } from '../proc-scan.ts';
import { addNetnsSyscall, errnoText, MNT_DETACH, umountSyscall } from '../syscall-helper.ts';

export const netnsDir = '/run/netns';

/** `tsb-<8 hex of the state root>-`: every namespace name of this root starts with it. */
export function netnsPrefix(stateRoot: string): string {
  return `tsb-${rootTag(stateRoot, 8)}-`;
}

export function newNetnsName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export function netnsPath(name: string): string {
  return join(netnsDir, name);
}

/**
 * Creates the named namespace (loopback down; the network provider configures it): as `ip netns
 * add` does, made by the syscall helper (no program started: ~4 ms less per namespace on a parallel
 * build's start), else by `ip`.
 */
export async function addNetns(name: string): Promise<string> {
  const path = netnsPath(name);
  const errno = await addNetnsSyscall(netnsDir, path);
  if (errno === undefined) await quickExec('ip', ['netns', 'add', name]);
  else if (errno !== 0) throw Object.assign(new Error(`cannot create network namespace "${name}": ${errnoText(errno)}`), { stderr: errnoText(errno) });
  return path;
}

/**
 * Removes the namespace's name (as `ip netns delete`: a lazy unmount and the file's removal); the
 * kernel frees it once no process is left in it. Idempotent.
 */
export async function deleteNetns(name: string): Promise<void> {
  const path = netnsPath(name);
  const errno = await umountSyscall(path, MNT_DETACH);
  if (errno === undefined) await quickExec('ip', ['netns', 'delete', name]).catch(() => undefined);
  else await rm(path, { force: true }).catch(() => undefined);
}

/** The names in /run/netns starting with `prefix`. */
export function listNetns(prefix: string): string[] {
  try {
    return readdirSync(netnsDir).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Pids of pasta or slirp4netns processes serving one of the namespaces named with `prefix`. */
export function netnsHelpers(prefix: string): number[] {
  return pidsWhere((args) => /(^|\/)(pasta|slirp4netns)$/.test(args[0] ?? '') && args.some((a) => a.startsWith(join(netnsDir, prefix))));
}
