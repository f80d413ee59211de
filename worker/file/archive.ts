// ADD's local archives: a source file whose *bytes* (never its name) are a tar, plain or compressed
// with gzip, bzip2, xz or zstd, is unpacked into the destination directory instead of copied, as
// Docker does (moby pkg/archive: DetectCompression, then a tar header that reads). Anything else,
// an empty tar included (Go's tar reader sees no first entry), is copied as a file by the caller.
//
// Entries keep the archive's owners and modes (Docker's Untar), unless ADD --chown gives one owner
// to everything. Paths resolve inside the root filesystem as the container would see them (a link
// in the image or in the archive is followed, but never out of the root), and no entry climbs
// above the destination with `..` (worker/layer/extract.ts refuses it; an absolute name lands below it).
// Nor through a link: where an entry's parent (or a hard link's target) resolves to must stay under
// the destination, or the archive is refused as moby refuses a breakout (`x -> /etc`, `x/passwd`).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, createReadStream, readSync } from 'node:fs';
import { relative } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { readHead } from '../../src/content/index.ts';
import { openRegularFile, resolveInRoot } from '../../src/context/index.ts';
import { ErrorCodes, TsbuildError, isTsbuildError } from '../../src/errors/index.ts';
import { extractTar } from '../layer/extract.ts';
import { mkdirInRoot, type Owner } from './write-tree.ts';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const magics: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** The compression of a stream from its first bytes, as moby's DetectCompression. */
export function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of magics) if (magic.every((b, i) => head[i] === b)) return kind;
  return 'none';
}

/** Whether a 512-byte block is a tar header: not all zeros and its checksum adds up (what Go's tar.Reader checks). */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 512 || block.every((b) => b === 0)) return false;
  const field = Buffer.from(block.subarray(148, 156)).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === parseInt(field, 8);
}

interface Decompressed {
  stream: Readable;
  /** Rejects when the decompressor failed (a corrupt or truncated archive). */
  finished: Promise<void>;
}

/** A descriptor of the archive, which must be a regular file (not a FIFO, device or symlink swapped in). */
function openArchive(path: string): number {
  const opened = openRegularFile(path, `the archive ${path}`);
  if (!opened) throw new TsbuildError(`the archive ${path} disappeared while being read`, { code: ErrorCodes.ARCHIVE_INVALID, kind: 'invalid' });
  return opened.fd;
}

function decompress(path: string, compression: Compression): Decompressed {
  const fd = openArchive(path);
  if (compression === 'bzip2' || compression === 'xz') {
    // Debian's bzip2 and xz: faster and better tested than any pure-JS decoder
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(compression, ['-dc'], { stdio: [fd, 'pipe', 'pipe'] }) as unknown as ChildProcessByStdio<null, Readable, Readable>;
    } finally {
      // the child has its own copy of the descriptor
      closeSync(fd);
    }
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const finished = new Promise<void>((resolve, reject) => {
      child.on('error', (e) => reject(new TsbuildError(`cannot run ${compression} to decompress ${path}: ${e.message}`, { code: ErrorCodes.INTERNAL, kind: 'unavailable', hint: `install it (apt-get install ${compression === 'xz' ? 'xz-utils' : 'bzip2'})` })));
      child.on('close', (code, signal) => {
        if (code === 0 || signal === 'SIGTERM') resolve();
        else reject(new TsbuildError(`${compression} could not decompress it: ${stderr.trim() || `exit code ${code}`}`, { code: ErrorCodes.ARCHIVE_INVALID, kind: 'invalid' }));
      });
    });
    finished.catch(() => undefined);
    const stream = child.stdout;
    stream.on('close', () => child.kill('SIGTERM'));
    return { stream, finished };
  }
  const transform = compression === 'gzip' ? createGunzip() : compression === 'zstd' ? createZstdDecompress() : new PassThrough();
  const finished = pipeline(createReadStream('', { fd }), transform);
  finished.catch(() => undefined);
  return { stream: transform, finished };
}

function fileHead(path: string, n: number): Buffer {
  const fd = openArchive(path);
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The compression of `path` when it holds a tar archive, else undefined. */
export async function archiveCompression(path: string): Promise<Compression | undefined> {
  const compression = detectCompression(fileHead(path, 6));
  // not decompressible: not an archive, the caller copies the file
  const first = await readHead(decompress(path, compression).stream, 512).catch(() => Buffer.alloc(0));
  return isTarHeader(first) ? compression : undefined;
}

export interface ExtractArchiveOptions {
  /** Host path of the archive file. */
  archive: string;
  /** Host path of the root filesystem written to. */
  rootfs: string;
  /** Absolute destination directory inside `rootfs`, made when missing. */
  dest: string;
  /** ADD --chown: one owner for every entry and for the directories made on the way. */
  owner?: Owner;
  /** How messages name the archive (its path in the source); default its host path. */
  name?: string;
}

/** Unpacks the archive into `dest` and resolves true, or resolves false (writing nothing) when it is not a tar. */
export async function extractArchive(opts: ExtractArchiveOptions): Promise<boolean> {
  const compression = await archiveCompression(opts.archive);
  if (compression === undefined) return false;
  const dirOwner = opts.owner ?? { uid: 0, gid: 0 };
  const dest = opts.dest.replace(/\/+$/, '') || '/';
  const destHost = mkdirInRoot(opts.rootfs, dest, dirOwner);
  const inDest = (parts: string[]) => `${dest === '/' ? '' : dest}/${parts.join('/')}`;
  /** The host path of `parts` resolved in the rootfs, when it stays under the destination. */
  const underDest = (parts: string[], name: string, what: string, followLast: boolean): string => {
    const host = resolveInRoot(opts.rootfs, inDest(parts), { followLast });
    const rel = relative(destHost, host);
    if (rel === '..' || rel.startsWith('../') || rel.startsWith('/')) {
      throw new TsbuildError(`unsafe tar entry "${name}": ${what} "${parts.join('/')}" leads outside the destination ${dest} through a symlink`, { code: ErrorCodes.TAR_UNSAFE, kind: 'denied' });
    }
    return host;
  };
  const { stream, finished } = decompress(opts.archive, compression);
  try {
    await extractTar(stream, {
      whiteouts: false,
      // as moby's Untar: `/abs/c` lands at dest/abs/c (issue 13)
      absoluteNames: 'inside',
      owner: opts.owner,
      parentDir: (parts, name) => {
        // checked before anything is made: mkdirInRoot would create the missing dirs wherever the links lead
        underDest(parts.slice(0, -1), name, 'its directory', true);
        return mkdirInRoot(opts.rootfs, inDest(parts.slice(0, -1)), dirOwner);
      },
      linkSource: (parts, name) => underDest(parts, name, 'its hard link target', false),
    });
    await finished;
  } catch (e) {
    // an unsafe entry is already said well; a decoder or tar parser failing is a damaged archive
    if (isTsbuildError(e) && e.code !== ErrorCodes.ARCHIVE_INVALID) throw e;
    stream.destroy();
    const what = compression === 'none' ? 'tar archive' : `${compression}-compressed tar archive`;
    throw new TsbuildError(`"${opts.name ?? opts.archive}" is a damaged ${what}: ${(e as Error).message}`, {
      code: ErrorCodes.ARCHIVE_INVALID,
      kind: 'invalid',
      cause: e,
      hint: 'the file may be truncated (an interrupted download?); check it with tar -tf',
    });
  }
  return true;
}
