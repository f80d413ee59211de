// -o compression keys (control/output-compression.ts): parsed once into a LayerCompression, refused clearly.
import test from 'ava';
import { parseOutputSpec } from '../../control/options.ts';
import { parseOutputCompression } from '../../control/output-compression.ts';

const fields = (text: string) => new Map(text.split(',').map((kv) => kv.split('=') as [string, string]));

test('compression, compression-level and force-compression parse as buildx names them', (t) => {
  t.is(parseOutputCompression(fields('type=oci,dest=x')), undefined, 'no key: the output\'s default (gzip)');
  t.deepEqual(parseOutputCompression(fields('compression=zstd')), { compression: 'zstd', force: false });
  t.deepEqual(parseOutputCompression(fields('compression=zstd,compression-level=19,force-compression=true')), { compression: 'zstd', level: 19, force: true });
  t.deepEqual(parseOutputCompression(fields('compression-level=9')), { compression: 'gzip', level: 9, force: false });
  t.deepEqual(parseOutputCompression(fields('compression=uncompressed,compression-level=9')), { compression: 'uncompressed', force: false }, 'a level means nothing uncompressed');
  t.deepEqual(parseOutputCompression(fields('force-compression=true')), { compression: 'gzip', force: true });
});

test('bad values are refused naming the key and what it takes', (t) => {
  t.throws(() => parseOutputCompression(fields('compression=lz4')), { message: /unknown compression "lz4"/ });
  t.throws(() => parseOutputCompression(fields('compression=gzip,compression-level=10')), { message: /"10" is not a gzip level/ });
  t.throws(() => parseOutputCompression(fields('compression=zstd,compression-level=0')), { message: /"0" is not a zstd level/ });
  t.throws(() => parseOutputCompression(fields('compression-level=fast')), { message: /"fast" is not a gzip level/ });
  t.throws(() => parseOutputCompression(fields('force-compression=yes')), { message: /force-compression="yes" is not true or false/ });
});

test('the outputs that leave the machine carry it; one without the keys carries none', (t) => {
  t.like(parseOutputSpec('type=oci,dest=/tmp/a.tar,compression=zstd'), { type: 'oci', compression: { compression: 'zstd', force: false } });
  t.like(parseOutputSpec('type=docker,dest=/tmp/a.tar,compression=uncompressed'), { type: 'docker', compression: { compression: 'uncompressed' } });
  t.like(parseOutputSpec('type=registry,name=r/app:1,compression=zstd,force-compression=true'), { type: 'image', push: true, compression: { compression: 'zstd', force: true } });
  t.false('compression' in parseOutputSpec('type=oci,dest=/tmp/a.tar'));
});
