// Safe tar extraction, for two uses: a layer into an empty snapshot dir, converting OCI whiteouts to
// overlay form (`.wh.NAME` → char 0/0 device, `.wh..wh..opq` → opaque xattr on the dir); and an
// ADD'ed archive into a directory of a root filesystem (see worker/file/archive.ts).
// Safety: names must stay inside the root (no absolute paths, no `..` that climbs out), no write
// goes through a symlink (parents must be real dirs we lstat'ed; an existing target is removed
// first), hard links point inside the root only. A violation fails with TAR_UNSAFE naming the entry.
// Directory times are set last, on the directory we made (same inode, opened without following a
// link), so a later entry that turns an ancestor into a symlink cannot redirect them to the host.
// Extraction into a user's directory (--output type=local) writes no device nodes and no
// setuid/setgid bits: the host is not a container, and a block device or a setuid-root shell
// from an image has no business there.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { chmodSync, closeSync, createWriteStream, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import { setOpaque } from '../snapshot/xattr.ts';
import { opaqueMarker, whiteoutPrefix } from './layer-tar.ts';

const run = promisify(execFile);

function unsafe(name: string, why: string): TsbuildError {
  return new TsbuildError(`unsafe tar entry "${name}": ${why}`, { code: ErrorCodes.TAR_UNSAFE, kind: 'denied' });
}

/**
 * The entry's components, or a TAR_UNSAFE error when the name leaves the root. With `absolute`
 * ('inside'), a leading `/` names a path below the root, as moby's Untar joins a cleaned name to
 * its destination: `/abs/c` is `abs/c`, and `..` cannot climb above the `/` it starts from.
 */
export function entryPath(name: string, absolute: 'refuse' | 'inside' = 'refuse'): string[] {
  const rooted = name.startsWith('/');
  if (rooted && absolute === 'refuse') throw unsafe(name, 'absolute path');
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0 && rooted) continue;
      if (out.length === 0) throw unsafe(name, 'path climbs out of the layer with ".."');
      out.pop();
    } else out.push(part);
  }
  return out;
}

/** Makes sure every parent of `parts` is a real directory inside root (creating missing ones); never follows a link. */
function ensureParents(root: string, parts: string[], name: string): string {
  let cur = root;
  for (const p of parts.slice(0, -1)) {
    cur = join(cur, p);
    let s;
    try {
      s = lstatSync(cur);
    } catch {
      mkdirSync(cur, { mode: 0o755 });
      continue;
    }
    if (!s.isDirectory()) throw unsafe(name, `parent "${p}" is ${s.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
  }
  return cur;
}

/** Where the entries of a tar land, and how they are owned. */
export interface ExtractTarget {
  /** Host directory of a parent (entry components minus the last), made when missing; never outside the root. */
  parentDir(parts: string[], name: string): string;
  /** Host path of a hard link's target (its components), which must already exist inside the root. */
  linkSource(parts: string[], name: string): string;
  /** OCI whiteouts become overlay whiteouts (layers); otherwise `.wh.` names are plain files. */
  whiteouts: boolean;
  /** Every entry gets this owner instead of the tar's own (ADD --chown). */
  owner?: { uid: number; gid: number };
  /** Names and hard link targets starting with `/`: refused (default), or read below the root (ADD's archives). */
  absoluteNames?: 'refuse' | 'inside';
  /** Default `image`; see ExtractFidelity. */
  fidelity?: ExtractFidelity;
}

/**
 * `image` (layers, ADD): every entry as the tar has it, device nodes, setuid bits and owners
 * included. `user-dir` (a directory on the host for a user, --output type=local): device nodes are
 * skipped and reported, setuid/setgid bits dropped, and owners kept only when we run as root.
 */
export type ExtractFidelity = 'image' | 'user-dir';

export interface ExtractResult {
  /** Names of the device nodes left out (`user-dir` only), so the caller can warn about them. */
  skippedDevices: string[];
}

export function extractLayer(stream: Readable, root: string, opts: { whiteouts?: boolean; fidelity?: ExtractFidelity } = {}): Promise<ExtractResult> {
  return extractTar(stream, {
    whiteouts: opts.whiteouts ?? true,
    fidelity: opts.fidelity,
    parentDir: (parts, name) => ensureParents(root, parts, name),
    linkSource: (parts, name) => {
      ensureParents(root, parts, name);
      return join(root, ...parts);
    },
  });
}

export async function extractTar(stream: Readable, to: ExtractTarget): Promise<ExtractResult> {
  const userDir = to.fidelity === 'user-dir';
  const keepOwners = !userDir || process.getuid?.() === 0;
  const skippedDevices: string[] = [];
  const skipped = new Set<string>();
  const extract = tar.extract();
  const dirTimes: DirTime[] = [];
  const done = pipeline(stream, extract);
  // a refused entry ends the loop early and so the pipeline with "premature close": that is expected
  done.catch(() => undefined);
  for await (const entry of extract) {
    const h = entry.header;
    const parts = entryPath(h.name, to.absoluteNames);
    if (parts.length === 0) {
      entry.resume();
      continue;
    }
    const parent = to.parentDir(parts, h.name);
    const base = parts[parts.length - 1];
    const target = join(parent, base);
    // setuid/setgid mean nothing in a user's directory but a way to run as the image's owner
    const mode = (h.mode ?? 0o644) & (userDir ? ~0o6000 : ~0);
    if (userDir && (h.type === 'character-device' || h.type === 'block-device')) {
      skippedDevices.push(h.name);
      skipped.add(parts.join('/'));
      entry.resume();
      continue;
    }
    if (to.whiteouts && base === opaqueMarker) {
      // a filesystem that keeps overlay's markers from us (overlayfs itself, a user namespace)
      // gets the marker in OCI form, which the copying snapshotter and the layer tar read as well
      await setOpaque(parent).catch(() => writeFileSync(join(parent, opaqueMarker), '', { mode: 0o644 }));
      entry.resume();
      continue;
    }
    if (to.whiteouts && base.startsWith(whiteoutPrefix)) {
      const name = base.slice(whiteoutPrefix.length);
      // `.wh.`, `.wh..` and `.wh...` would hide the parent itself or the dir above it
      if (name === '' || name === '.' || name === '..' || name.includes('/')) throw unsafe(h.name, `whiteout of "${name}" names no entry of its directory`);
      const hidden = join(parent, name);
      rmSync(hidden, { recursive: true, force: true });
      await run('mknod', [hidden, 'c', '0', '0']).catch(() => writeFileSync(join(parent, base), '', { mode: 0o644 }));
      entry.resume();
      continue;
    }
    let existing;
    try {
      existing = lstatSync(target);
    } catch {
      // new
    }
    if (existing && !(existing.isDirectory() && h.type === 'directory')) rmSync(target, { recursive: true, force: true });
    switch (h.type) {
      case 'directory':
        if (!existing?.isDirectory()) mkdirSync(target);
        dirTimes.push({ path: target, mtime: h.mtime ?? new Date(0), made: lstatSync(target) });
        break;
      case 'file':
      case 'contiguous-file':
        // O_EXCL|O_NOFOLLOW: the target was just removed, so this creates a new file or fails
        await pipeline(entry, createWriteStream(target, { fd: openSync(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600) }));
        break;
      case 'symlink':
        symlinkSync(h.linkname ?? '', target);
        break;
      case 'link': {
        let linkParts: string[];
        try {
          linkParts = entryPath(h.linkname ?? '', to.absoluteNames);
        } catch {
          throw unsafe(h.name, `hard link target "${h.linkname}" is outside the layer`);
        }
        // a hard link to a device left out is left out too
        if (skipped.has(linkParts.join('/'))) {
          skippedDevices.push(h.name);
          entry.resume();
          continue;
        }
        const source = to.linkSource(linkParts, h.name);
        let s;
        try {
          s = lstatSync(source);
        } catch {
          throw unsafe(h.name, `hard link target "${h.linkname}" is not in the layer`);
        }
        if (s.isDirectory()) throw unsafe(h.name, 'hard link to a directory');
        linkSync(source, target);
        break;
      }
      case 'character-device':
      case 'block-device':
        await run('mknod', [target, h.type === 'character-device' ? 'c' : 'b', String(h.devmajor ?? 0), String(h.devminor ?? 0)]);
        break;
      case 'fifo':
        await run('mknod', [target, 'p']);
        break;
      default:
        // pax headers are consumed by tar-stream; anything else has no place in a layer
        entry.resume();
        continue;
    }
    entry.resume();
    if (h.type === 'link') continue;
    if (keepOwners) lchownSync(target, to.owner?.uid ?? paxId(h, 'uid') ?? 0, to.owner?.gid ?? paxId(h, 'gid') ?? 0);
    if (h.type !== 'symlink') chmodSync(target, mode);
    if (h.type !== 'directory') lutimesSync(target, h.mtime ?? new Date(0), h.mtime ?? new Date(0));
  }
  await done;
  // directory mtimes last: creating their entries changed them
  for (const d of dirTimes.reverse()) setDirTime(d);
  return { skippedDevices };
}

interface DirTime {
  path: string;
  mtime: Date;
  /** The directory as made, to recognise it at the end. */
  made: { dev: number; ino: number };
}

/**
 * Sets a directory's times through a descriptor of the directory we made, or not at all: a later
 * entry may have removed it or made an ancestor a symlink, and then the path names something else,
 * perhaps on the host (O_NOFOLLOW guards the last component, the inode check the ones above).
 */
function setDirTime(d: DirTime): void {
  let fd: number;
  try {
    fd = openSync(d.path, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const s = fstatSync(fd);
    if (s.dev === d.made.dev && s.ino === d.made.ino) futimesSync(fd, d.mtime, d.mtime);
  } finally {
    closeSync(fd);
  }
}

/** An owner id from the entry's PAX record when it has one (ids over 2,097,151), else from the ustar header. */
function paxId(h: tar.Header, key: 'uid' | 'gid'): number | undefined {
  const text = (h.pax as Record<string, string> | undefined)?.[key];
  if (text !== undefined && /^\d{1,15}$/.test(text)) return Number(text);
  return h[key];
}
