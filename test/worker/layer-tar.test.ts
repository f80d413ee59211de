// The layer tar's headers where ustar runs out of room (issue 13): owner ids above 2,097,151
// (7 octal digits), names over 100 and 255 bytes, link targets over 100 bytes. The layer is read
// back by python's tarfile, a reader nobody here wrote, then extracted by ours.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, linkSync, lchownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createLayerTar } from '../../worker/layer/layer-tar.ts';
import { extractLayer } from '../../worker/layer/extract.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

const longName = 'n'.repeat(150); // one component over ustar's 100-byte name field
const deepDir = Array.from({ length: 6 }, (_, i) => `${i}${'d'.repeat(49)}`).join('/'); // 6 × 50 bytes
const deepPath = `${deepDir}/${'f'.repeat(40)}`; // over 255 bytes, beyond name + prefix
const longTarget = `/${'t'.repeat(60)}/${'u'.repeat(60)}`; // over ustar's 100-byte linkname field

interface Member {
  name: string;
  type: string;
  uid: number;
  gid: number;
  linkname: string;
}

function pythonList(tarPath: string): Member[] {
  const script = [
    'import json, sys, tarfile',
    'out = []',
    'with tarfile.open(sys.argv[1]) as t:',
    '    for m in t.getmembers():',
    "        out.append({'name': m.name, 'type': m.type.decode(), 'uid': m.uid, 'gid': m.gid, 'linkname': m.linkname})",
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, tarPath], { encoding: 'utf8' })) as Member[];
}

test('ids over 2,097,151 and long names and link targets survive the layer tar (read by python tarfile) and our extraction', async (t) => {
  const dir = tempDir('tsbuild-layer-tar-');
  const out = tempDir('tsbuild-layer-tar-out-');
  try {
    const fs = join(dir, 'fs');
    mkdirSync(join(fs, deepDir), { recursive: true });
    writeFileSync(join(fs, 'big-ids'), 'owned\n');
    lchownSync(join(fs, 'big-ids'), 3_000_000, 4_000_000);
    writeFileSync(join(fs, 'big-uid-only'), 'x');
    lchownSync(join(fs, 'big-uid-only'), 2_097_152, 7);
    writeFileSync(join(fs, 'edge'), 'x');
    lchownSync(join(fs, 'edge'), 2_097_151, 2_097_151);
    writeFileSync(join(fs, 'six-digits'), 'x');
    lchownSync(join(fs, 'six-digits'), 262_144, 262_143);
    writeFileSync(join(fs, longName), 'long\n');
    writeFileSync(join(fs, deepPath), 'deep\n');
    symlinkSync(longTarget, join(fs, 'link'));
    lchownSync(join(fs, 'link'), 3_000_001, 3_000_002);
    linkSync(join(fs, deepPath), join(fs, 'hard')); // the hard link's target is the >255-byte name

    const tarPath = join(dir, 'layer.tar');
    await pipeline(createLayerTar(fs), createWriteStream(tarPath));
    const members = new Map(pythonList(tarPath).map((m) => [m.name, m]));

    t.like(members.get('big-ids'), { uid: 3_000_000, gid: 4_000_000 });
    t.like(members.get('big-uid-only'), { uid: 2_097_152, gid: 7 });
    t.like(members.get('edge'), { uid: 2_097_151, gid: 2_097_151 });
    t.like(members.get('six-digits'), { uid: 262_144, gid: 262_143 });
    t.like(members.get(longName), { type: '0' });
    t.like(members.get(deepPath), { type: '0' });
    t.true(deepPath.length > 255);
    t.like(members.get('link'), { type: '2', linkname: longTarget, uid: 3_000_001, gid: 3_000_002 });
    // our walk sorts names: `0ddd…` (the deep dir) comes before `hard`, so `hard` is the link
    t.like(members.get('hard'), { type: '1', linkname: deepPath });
    t.false([...members.keys()].some((n) => n.includes('PaxHeader')), 'PAX headers are headers, not members');

    await extractLayer(createReadStream(tarPath), out, { whiteouts: true });
    const st = lstatSync(join(out, 'big-ids'));
    t.deepEqual([st.uid, st.gid], [3_000_000, 4_000_000]);
    t.deepEqual([lstatSync(join(out, 'big-uid-only')).uid, lstatSync(join(out, 'big-uid-only')).gid], [2_097_152, 7]);
    t.deepEqual([lstatSync(join(out, 'edge')).uid, lstatSync(join(out, 'six-digits')).uid], [2_097_151, 262_144]);
    t.deepEqual([lstatSync(join(out, 'link')).uid, lstatSync(join(out, 'link')).gid], [3_000_001, 3_000_002]);
    t.is(readlinkSync(join(out, 'link')), longTarget);
    t.is(readFileSync(join(out, longName), 'utf8'), 'long\n');
    t.is(readFileSync(join(out, deepPath), 'utf8'), 'deep\n');
    t.is(lstatSync(join(out, 'hard')).ino, lstatSync(join(out, deepPath)).ino);
  } finally {
    removeDir(dir);
    removeDir(out);
  }
});

test('GNU tar reads the same owners and names', async (t) => {
  const dir = tempDir('tsbuild-layer-tar-gnu-');
  try {
    const fs = join(dir, 'fs');
    mkdirSync(fs);
    writeFileSync(join(fs, 'big-ids'), 'owned\n');
    lchownSync(join(fs, 'big-ids'), 3_000_000, 4_000_000);
    symlinkSync(longTarget, join(fs, 'link'));
    const tarPath = join(dir, 'layer.tar');
    await pipeline(createLayerTar(fs), createWriteStream(tarPath));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', tarPath], { encoding: 'utf8' });
    t.regex(listing, /^-rw-r--r-- 3000000\/4000000 +6 .* big-ids$/m);
    t.true(listing.includes(`link -> ${longTarget}`), listing);
  } finally {
    removeDir(dir);
  }
});
