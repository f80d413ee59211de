// mkdir, mkfile and rm inside a root filesystem, every path resolved inside it.
import { chmodSync, lchownSync, lstatSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { cleanPath, resolveInRoot, wildcardToRegExp, hasWildcard } from '../../src/context/index.ts';
import type { MkdirAction, MkfileAction, RmAction } from '../../src/llb/index.ts';
import { resolveOwner } from '../rootfs/users.ts';
import { mkdirInRoot } from './write-tree.ts';

export function mkdirAction(root: string, action: MkdirAction): void {
  const owner = action.chown ? resolveOwner(root, action.chown) : { uid: 0, gid: 0 };
  const path = cleanPath(action.path);
  const host = resolveInRoot(root, path);
  const existing = statOrUndefined(host);
  if (existing?.isDirectory()) {
    if (action.makeParents) return;
    throw new TsbuildError(`mkdir ${path}: directory already exists`, { code: ErrorCodes.OPTION_INVALID, kind: 'exists' });
  }
  if (!action.makeParents && !statOrUndefined(resolveInRoot(root, dirname(path)))?.isDirectory()) {
    throw new TsbuildError(`mkdir ${path}: parent directory does not exist`, { code: ErrorCodes.COPY_SOURCE_NOT_FOUND, kind: 'not-found' });
  }
  // as BuildKit: parents made on the way get the same mode and owner as the directory itself
  mkdirInRoot(root, path, owner, action.mode);
}

export function mkfileAction(root: string, action: MkfileAction): void {
  const owner = action.chown ? resolveOwner(root, action.chown) : { uid: 0, gid: 0 };
  const path = cleanPath(action.path);
  const parent = resolveInRoot(root, dirname(path));
  if (!statOrUndefined(parent)?.isDirectory()) throw new TsbuildError(`mkfile ${path}: parent directory does not exist`, { code: ErrorCodes.COPY_SOURCE_NOT_FOUND, kind: 'not-found' });
  const host = `${parent}/${basename(path)}`;
  // never write through a link that is already there
  if (statOrUndefined(host) && !statOrUndefined(host)!.isDirectory()) rmSync(host, { force: true });
  writeFileSync(host, action.data, { flag: 'wx' });
  lchownSync(host, owner.uid, owner.gid);
  chmodSync(host, action.mode);
}

export function rmAction(root: string, action: RmAction): void {
  const path = cleanPath(action.path);
  if (path === '/') throw new TsbuildError('rm /: refusing to remove the root', { code: ErrorCodes.PATH_ESCAPE, kind: 'invalid' });
  const parent = resolveInRoot(root, dirname(path));
  const name = basename(path);
  let targets: string[];
  if (action.allowWildcard && hasWildcard(name)) {
    const re = wildcardToRegExp(name);
    targets = safeReaddir(parent).filter((n) => re.test(n)).map((n) => `${parent}/${n}`);
  } else targets = statOrUndefined(`${parent}/${name}`) ? [`${parent}/${name}`] : [];
  if (targets.length === 0 && !action.allowNotFound) throw new TsbuildError(`rm ${path}: no such file or directory`, { code: ErrorCodes.COPY_SOURCE_NOT_FOUND, kind: 'not-found' });
  for (const t of targets) rmSync(t, { recursive: true, force: true });
}

function statOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
