// worker/layer/tar-header.ts writes headers byte for byte as tar-stream did (layers made before keep
// their diffIds): every entry type, long and non-ascii names, long link targets, large ids, mode 0.
import test from 'ava';
import { pack, type Header } from 'tar-stream';
import { encodeTarHeader, type TarHeader } from '../../worker/layer/tar-header.ts';

const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}`;
const headers: TarHeader[] = [
  { name: 'dir/', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 },
  { name: 'dir/file', type: 'file', mode: 0o644, uid: 1000, gid: 1000, size: 5, mtime: 1_700_000_001 },
  { name: 'zero-mode', type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 },
  { name: 'zero-dir/', type: 'directory', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 },
  { name: 'link', type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 5, linkname: 'dir/file' },
  { name: 'sym', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 5, linkname: `/${'t'.repeat(120)}` },
  { name: 'sym2', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 5, linkname: 'ünïcode' },
  { name: 'null', type: 'character-device', mode: 0o666, uid: 0, gid: 0, size: 0, mtime: 5, devmajor: 1, devminor: 3 },
  { name: 'blk', type: 'block-device', mode: 0o660, uid: 0, gid: 6, size: 0, mtime: 5, devmajor: 259, devminor: 70000 },
  { name: 'fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: -86400 },
  { name: long, type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 1, mtime: 5 },
  { name: `${'x'.repeat(101)}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 5 },
  { name: `${'p/'.repeat(100)}q`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 5 },
  { name: 'ünï', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 5 },
  { name: 'big-ids', type: 'file', mode: 0o644, uid: 3_000_000, gid: 300_000, size: 2, mtime: 5, pax: { uid: '3000000', gid: '300000' } },
  { name: 'big-size', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 9 * 1024 ** 3, mtime: 5 },
];

function viaTarStream(h: TarHeader): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const header = { ...h, mtime: new Date(h.mtime * 1000), uname: '', gname: '' } as Header;
  // only the header blocks: stop before the body
  p.entry(header);
  return new Promise((resolve) => setImmediate(() => resolve(Buffer.concat(chunks))));
}

for (const h of headers) {
  test(`${h.type} ${h.name.slice(0, 30)}${h.pax ? ' (pax ids)' : ''}`, async (t) => {
    const expected = await viaTarStream(h);
    t.true(expected.length >= 512);
    t.deepEqual(encodeTarHeader(h), expected);
  });
}
