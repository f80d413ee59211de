// Tar headers as bytes, exactly as tar-stream 3 writes them (its headers.js `encode`/`encodePax`
// and pack's PAX fallback), so layers made here have the same bytes, and so the same diffIds, as
// the ones tar-stream made before: ustar when the fields hold the entry, else a `PaxHeader` record
// carrying path, linkpath and the extra records, then the ustar header again under that name.
// (Only the writing side: reading goes through tar-stream's extract.)

export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (large ids); their presence always makes a PAX header. */
  pax?: Record<string, string>;
}

const typeflags: Record<TarEntryType | 'pax-header', number> = { file: 0, link: 1, symlink: 2, 'character-device': 3, 'block-device': 4, directory: 5, fifo: 6, 'pax-header': 72 };
const zeros = '0000000000000000000';
const sevens = '7777777777777777777';
const ustarMagic = Buffer.from('ustar\x0000', 'latin1');

function octal(val: number, n: number): string {
  const s = val.toString(8);
  if (s.length > n) return `${sevens.slice(0, n)} `;
  return `${zeros.slice(0, n - s.length)}${s} `;
}

function writeSize(num: number, buf: Buffer, off: number): void {
  if (num.toString(8).length <= 11) {
    buf.write(octal(num, 11), off, 'latin1');
    return;
  }
  // base-256, as tar-stream (and GNU tar) for sizes of 8 GiB and more
  buf[off] = 0x80;
  for (let i = 11; i > 0; i--) {
    buf[off + i] = num & 0xff;
    num = Math.floor(num / 0x100);
  }
}

/** One ustar header block, or undefined when a field cannot hold the entry (then PAX is needed). */
function ustar(h: Omit<TarHeader, 'type' | 'pax'> & { type: TarEntryType | 'pax-header' }, buf: Buffer): boolean {
  let name = h.name;
  let prefix = '';
  // tar-stream writes names as utf-8 but only when every byte is ascii; anything else goes to PAX
  if (Buffer.byteLength(name) !== name.length) return false;
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155) return false;
  if (h.linkname && Buffer.byteLength(h.linkname) > 100) return false;
  buf.fill(0, 0, 512);
  buf.write(name, 0);
  buf.write(octal(h.mode & 0o7777, 6), 100, 'latin1');
  buf.write(octal(h.uid, 6), 108, 'latin1');
  buf.write(octal(h.gid, 6), 116, 'latin1');
  writeSize(h.size, buf, 124);
  buf.write(octal(h.mtime | 0, 11), 136, 'latin1');
  buf[156] = 0x30 + typeflags[h.type];
  if (h.linkname) buf.write(h.linkname, 157);
  ustarMagic.copy(buf, 257);
  buf.write(octal(h.devmajor || 0, 6), 329, 'latin1');
  buf.write(octal(h.devminor || 0, 6), 337, 'latin1');
  if (prefix) buf.write(prefix, 345);
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[i];
  for (let i = 156; i < 512; i++) sum += buf[i];
  buf.write(octal(sum, 6), 148, 'latin1');
  return true;
}

function paxRecord(key: string, value: string): string {
  const str = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(str);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return `${len + digits}${str}`;
}

/**
 * The header blocks of one entry (512 bytes, or PAX header + records + padding + 512 bytes).
 * As tar-stream's pack: a mode of 0 becomes 0755 for a directory and 0644 otherwise, and a symlink's
 * size is 0.
 */
export function encodeTarHeader(header: TarHeader): Buffer {
  const h = { ...header, mode: header.mode || (header.type === 'directory' ? 0o755 : 0o644), size: header.type === 'symlink' ? 0 : header.size };
  if (!h.pax) {
    const buf = Buffer.allocUnsafe(512);
    if (ustar(h, buf)) return buf;
  }
  let records = '';
  if (h.name) records += paxRecord('path', h.name);
  if (h.linkname) records += paxRecord('linkpath', h.linkname);
  for (const key in h.pax ?? {}) records += paxRecord(key, h.pax![key]);
  const body = Buffer.from(records);
  const padded = Math.ceil(body.length / 512) * 512;
  const out = Buffer.alloc(512 + padded + 512);
  const paxHeader = { ...h, name: 'PaxHeader', linkname: h.linkname && 'PaxHeader' };
  ustar({ ...paxHeader, type: 'pax-header', size: body.length }, out.subarray(0, 512));
  body.copy(out, 512);
  ustar(paxHeader, out.subarray(512 + padded));
  return out;
}
