// Users and groups as the root filesystem names them, resolved the way Docker does: /etc/passwd
// and /etc/group are read from inside the rootfs (through its own symlinks), never from the host.
// A table that is not a regular file (a FIFO, a device, a directory) or is over 4 MiB counts as
// absent, as Docker takes an unreadable /etc/passwd: numeric ids still work, names fail saying why.
// A RUN is refused outright in such an image: runc opens the container's /etc/passwd and
// /etc/group to start every process, and blocks forever on a FIFO (a device fails it obscurely).
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../../src/errors/index.ts';
import type { ChownSpec } from '../../src/llb/index.ts';
import { cleanPath, describeFileType, readFileInRoot, resolveInRoot } from '../../src/context/index.ts';
import { resolveInContainer, underKernelFs } from './kernel-paths.ts';

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

// 4 MiB: some 40,000 accounts, far more than any image carries; a bigger table is damaged or
// hostile, and each RUN reads it again
const maxTableBytes = 4 * 1024 * 1024;

/** The rows of a table, and why it was taken as empty when it could not be read. */
interface Table<T> {
  entries: T[];
  unreadable?: string;
}

function readTable<T>(rootfs: string, path: string, row: (fields: string[]) => T | undefined): Table<T> {
  let text: string;
  try {
    text = readFileInRoot(rootfs, path, { maxBytes: maxTableBytes, what: `${path} of the image` })?.toString('utf8') ?? '';
  } catch (e) {
    if (isTsbuildError(e)) return { entries: [], unreadable: e.message };
    throw e;
  }
  const entries: T[] = [];
  for (const l of text.split('\n')) {
    if (l.trim() === '' || l.startsWith('#')) continue;
    const r = row(l.split(':'));
    if (r) entries.push(r);
  }
  return { entries };
}

function passwdTable(rootfs: string): Table<PasswdEntry> {
  return readTable(rootfs, '/etc/passwd', (f) => (f.length >= 4 && numeric.test(f[2]) && numeric.test(f[3]) ? { name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' } : undefined));
}

function groupTable(rootfs: string): Table<GroupEntry> {
  return readTable(rootfs, '/etc/group', (f) => (f.length >= 3 && numeric.test(f[2]) ? { name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) } : undefined));
}

export function readPasswd(rootfs: string): PasswdEntry[] {
  return passwdTable(rootfs).entries;
}

export function readGroups(rootfs: string): GroupEntry[] {
  return groupTable(rootfs).entries;
}

function unknown(table: Table<unknown>, what: 'user' | 'group', name: string): TsbuildError {
  const file = what === 'user' ? '/etc/passwd' : '/etc/group';
  const why = table.unreadable;
  return new TsbuildError(`unable to find ${what} ${name}: ${why ? `${why}, so it was taken as empty` : `no matching entries in ${file}`}`, {
    code: ErrorCodes.USER_NOT_FOUND,
    kind: 'invalid',
    hint: why ? `use a numeric id (${what === 'user' ? 'USER 1000' : 'USER 1000:1000'}), or make ${file} a regular file in the image` : undefined,
  });
}

function lookupGroup(rootfs: string, group: string): number {
  if (numeric.test(group)) return Number(group);
  const table = groupTable(rootfs);
  const g = table.entries.find((e) => e.name === group);
  if (!g) throw unknown(table, 'group', group);
  return g.gid;
}

/**
 * Throws FILE_UNREADABLE when /etc/passwd or /etc/group (resolved inside the rootfs) exists but is
 * not a regular file: runc's init would open it to start the process, and a FIFO never opens.
 */
export function checkTablesForRun(rootfs: string): void {
  for (const file of ['/etc/passwd', '/etc/group']) {
    // below /proc, /sys or /dev the run sees the kernel's file, not the image's: /proc/kmsg blocks
    const inside = resolveInContainer(rootfs, file);
    if (inside !== undefined && underKernelFs(inside)) throw notRegular(file, `a link to ${inside}`, `: at run time that is the kernel's ${inside}`);
    let s;
    try {
      s = lstatSync(resolveInRoot(rootfs, file));
    } catch {
      continue; // absent (or a link to nothing): runc takes the defaults
    }
    if (s.isFile()) continue;
    throw notRegular(file, describeFileType(s), s.isFIFO() ? ': Docker would hang here' : '');
  }
}

function notRegular(file: string, what: string, why: string): TsbuildError {
  return new TsbuildError(`cannot start a process in this image: its ${file} is ${what}, not a regular file, and runc reads it to start every process`, {
    code: ErrorCodes.FILE_UNREADABLE,
    kind: 'invalid',
    hint: `make ${file} a regular file (or remove it) where it is made${why}`,
  });
}

/**
 * The process user of a `name`, `uid`, `name:group` or `uid:gid` spec for a RUN; empty means root.
 * Checks first that runc can read the tables (checkTablesForRun).
 */
export function resolveUser(rootfs: string, spec: string): ResolvedUser {
  checkTablesForRun(rootfs);
  const [userPart, groupPart] = spec === '' ? ['0', undefined] : splitOnce(spec);
  const passwd = passwdTable(rootfs);
  const entry = numeric.test(userPart) ? passwd.entries.find((e) => e.uid === Number(userPart)) : passwd.entries.find((e) => e.name === userPart);
  if (!entry && !numeric.test(userPart)) throw unknown(passwd, 'user', userPart);
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
    const passwd = passwdTable(rootfs);
    const entry = passwd.entries.find((e) => e.name === chown.user);
    if (!entry) throw unknown(passwd, 'user', chown.user);
    ({ uid, gid } = entry);
  }
  if (chown.group !== undefined && chown.group !== '') gid = lookupGroup(rootfs, chown.group);
  return { uid, gid };
}

function splitOnce(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}
