// Users and groups as the root filesystem names them, resolved the way Docker does: /etc/passwd
// and /etc/group are read from inside the rootfs (through its own symlinks), never from the host.
import { readFileSync } from 'node:fs';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { ChownSpec } from '../../src/llb/index.ts';
import { resolveInRoot } from '../../src/context/index.ts';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: every group of /etc/group that lists the user as a member. */
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const numeric = /^\d+$/;

function readTable(rootfs: string, path: string): string[][] {
  let text = '';
  try {
    text = readFileSync(resolveInRoot(rootfs, path), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function readPasswd(rootfs: string): PasswdEntry[] {
  return readTable(rootfs, '/etc/passwd')
    .filter((f) => f.length >= 4 && numeric.test(f[2]) && numeric.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' }));
}

export function readGroups(rootfs: string): GroupEntry[] {
  return readTable(rootfs, '/etc/group')
    .filter((f) => f.length >= 3 && numeric.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

function unknown(what: 'user' | 'group', name: string): TsbuildError {
  const file = what === 'user' ? '/etc/passwd' : '/etc/group';
  return new TsbuildError(`unable to find ${what} ${name}: no matching entries in ${file}`, { code: ErrorCodes.USER_NOT_FOUND, kind: 'invalid' });
}

function lookupGroup(rootfs: string, group: string): number {
  if (numeric.test(group)) return Number(group);
  const g = readGroups(rootfs).find((e) => e.name === group);
  if (!g) throw unknown('group', group);
  return g.gid;
}

/** The process user of a `name`, `uid`, `name:group` or `uid:gid` spec; empty means root. */
export function resolveUser(rootfs: string, spec: string): ResolvedUser {
  const [userPart, groupPart] = spec === '' ? ['0', undefined] : splitOnce(spec);
  const passwd = readPasswd(rootfs);
  const entry = numeric.test(userPart) ? passwd.find((e) => e.uid === Number(userPart)) : passwd.find((e) => e.name === userPart);
  if (!entry && !numeric.test(userPart)) throw unknown('user', userPart);
  const uid = entry?.uid ?? Number(userPart);
  if (groupPart !== undefined && groupPart !== '') return { uid, gid: lookupGroup(rootfs, groupPart), additionalGids: [] };
  const gid = entry?.gid ?? 0;
  // Docker adds supplementary groups only when the group was not given explicitly
  const additionalGids = entry ? readGroups(rootfs).filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid, gid, additionalGids: [...new Set(additionalGids)] };
}

/**
 * The owner of a chown spec: a numeric user without group means gid = uid, a named one its primary
 * group, an empty one (`--chown=:staff`) root, as BuildKit takes it.
 */
export function resolveOwner(rootfs: string, chown: ChownSpec): { uid: number; gid: number } {
  let uid: number;
  let gid: number;
  if (chown.user === '') {
    uid = gid = 0;
  } else if (numeric.test(chown.user)) {
    uid = gid = Number(chown.user);
  } else {
    const entry = readPasswd(rootfs).find((e) => e.name === chown.user);
    if (!entry) throw unknown('user', chown.user);
    ({ uid, gid } = entry);
  }
  if (chown.group !== undefined && chown.group !== '') gid = lookupGroup(rootfs, chown.group);
  return { uid, gid };
}

function splitOnce(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}
