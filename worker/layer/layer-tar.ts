// A snapshot's own fs dir as an OCI layer tar. The upper dir already *is* the diff; only the
// deletion markers change form (docs: image-spec layer.md "Whiteouts"):
//   char device 0/0 NAME          → empty file `.wh.NAME`
//   dir with trusted.overlay.opaque → the dir, then an empty `.wh..wh..opq` inside it
// Entries are sorted and carry only mode, owner, mtime and content, so the same snapshot always
// gives the same bytes.
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { listOpaque } from '../snapshot/xattr.ts';

export const whiteoutPrefix = '.wh.';
export const opaqueMarker = '.wh..wh..opq';

export function deviceNumbers(rdev: number): { major: number; minor: number } {
  // Linux's dev_t layout (glibc gnu_dev_major/minor)
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & ~0xfff) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & ~0xff) };
}

export function isWhiteoutDevice(s: Stats): boolean {
  return s.isCharacterDevice() && s.rdev === 0;
}

/**
 * The largest id tar-stream writes into the ustar header: it fills 6 of the field's 7 octal digits
 * (262,143), where ustar allows 2,097,151. Above it, as Go's archive/tar does past 7 digits, a
 * PAX record carries the id (the ustar field then says 777777).
 */
export const ustarMaxId = 0o777777;

// Files up to this size go into the tar as one buffer read at once: a read stream and a pipeline per
// file cost ~0.8 ms each, most of a 20,000-file layer's time. Larger files stream (memory stays bounded).
const wholeFileLimit = 1024 * 1024;

/**
 * PAX records for ids the ustar header cannot hold, or undefined. (Long names and link targets
 * need no help here: tar-stream writes a PAX header with `path`/`linkpath` whenever the ustar
 * name and prefix fields cannot hold them, and always when `pax` is set.)
 */
function largeIds(s: { uid: number; gid: number }): Record<string, string> | undefined {
  if (s.uid <= ustarMaxId && s.gid <= ustarMaxId) return undefined;
  const pax: Record<string, string> = {};
  if (s.uid > ustarMaxId) pax.uid = String(s.uid);
  if (s.gid > ustarMaxId) pax.gid = String(s.gid);
  return pax;
}

/** Streams the tar of `fsDir`. `onEntry` counts entries, so callers learn whether the diff is empty. */
export function createLayerTar(fsDir: string, onEntry: () => void = () => {}): tar.Pack {
  const pack = tar.pack();
  (async () => {
    const opaque = await listOpaque(fsDir);
    const links = new Map<string, string>();
    const add = async (partial: Partial<tar.Header> & { name: string }, file?: string) => {
      // the reader went away (an export cancelled): stop walking instead of reading on into nothing
      if (pack.destroyed) throw new Error('layer tar closed by its reader');
      const header = partial as tar.Header;
      onEntry();
      if (file === undefined || header.size <= wholeFileLimit) {
        // the same bytes as streaming it; a file whose size changed since its lstat fails as a stream would
        const body = file === undefined ? Buffer.alloc(0) : readFileSync(file);
        if (file !== undefined && body.length !== header.size) throw new Error(`${file} changed while its layer was made: ${body.length} bytes read, ${header.size} expected`);
        await new Promise<void>((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())));
        return;
      }
      await pipeline(createReadStream(file), pack.entry(header));
    };
    const walk = async (dir: string, rel: string) => {
      for (const name of readdirSync(dir).sort()) {
        const abs = join(dir, name);
        const path = rel + name;
        const s = lstatSync(abs);
        const base = { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, mtime: new Date(Math.floor(s.mtimeMs / 1000) * 1000), uname: '', gname: '', pax: largeIds(s) };
        if (s.isDirectory()) {
          await add({ ...base, name: `${path}/`, type: 'directory' });
          if (opaque.has(abs)) await add({ ...base, name: `${path}/${opaqueMarker}`, type: 'file', size: 0, mode: 0o644 });
          await walk(abs, `${path}/`);
        } else if (isWhiteoutDevice(s)) {
          await add({ ...base, name: rel + whiteoutPrefix + name, type: 'file', size: 0 });
        } else if (s.nlink > 1 && !s.isSymbolicLink() && links.has(`${s.ino}`)) {
          await add({ ...base, name: path, type: 'link', linkname: links.get(`${s.ino}`)!, size: 0 });
        } else if (s.isFile()) {
          if (s.nlink > 1) links.set(`${s.ino}`, path);
          await add({ ...base, name: path, type: 'file', size: s.size }, abs);
        } else if (s.isSymbolicLink()) {
          await add({ ...base, name: path, type: 'symlink', linkname: readlinkSync(abs) });
        } else if (s.isCharacterDevice() || s.isBlockDevice()) {
          const { major, minor } = deviceNumbers(s.rdev);
          await add({ ...base, name: path, type: s.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
        } else if (s.isFIFO()) {
          await add({ ...base, name: path, type: 'fifo' });
        }
        // sockets cannot be stored in a tar; like Docker, leave them out
      }
    };
    await walk(fsDir, '');
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack;
}
