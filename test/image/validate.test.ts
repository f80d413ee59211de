import test from 'ava';
import { parseConfig, parseIndex, parseManifest } from '../../src/image/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';

const origin = { image: 'app:1', digest: `sha256:${'a'.repeat(64)}` };
const d = (n: string) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${n.repeat(64)}`, size: 3 });
const config = { architecture: 'amd64', os: 'linux', config: { User: 'app', Env: ['A=1'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${'b'.repeat(64)}`] } };

function fails(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isTsbuildError(e) && e.code === 'IMAGE_INVALID') return e.message;
    throw e;
  }
  throw new Error('did not fail');
}

test('valid documents parse; null optional fields read as absent, Cmd null is kept', (t) => {
  const c = parseConfig(JSON.stringify({ ...config, config: { ...config.config, Labels: null, Cmd: null, Env: null } }), origin);
  t.deepEqual(c.config, { User: 'app', Cmd: null });
  t.deepEqual(parseConfig(JSON.stringify({ ...config, config: null }), origin).config, {}, 'an image without runtime settings');
  t.is(parseManifest(JSON.stringify({ schemaVersion: 2, config: d('c'), layers: [d('1')] }), origin).layers.length, 1);
  t.is(parseIndex(JSON.stringify({ schemaVersion: 2, manifests: [{ ...d('2'), platform: { os: 'linux', architecture: 'arm64' } }] }), origin).manifests.length, 1);
});

test('each wrong field is named with its path, the document and the image', (t) => {
  const pre = `image app:1: config sha256:${'a'.repeat(64)}: `;
  t.is(fails(() => parseConfig('nope', origin)), `${pre}is not JSON (Unexpected token 'o', "nope" is not valid JSON)`);
  t.is(fails(() => parseConfig('[]', origin)), `${pre}the document is a list, expected an object`);
  t.is(fails(() => parseConfig(JSON.stringify({ ...config, config: { Env: ['A', 3] } }), origin)), `${pre}"config.Env[1]" is a number, expected a string`);
  t.is(fails(() => parseConfig(JSON.stringify({ ...config, config: { Labels: { a: {} } } }), origin)), `${pre}"config.Labels.a" is an object, expected a string`);
  t.is(fails(() => parseConfig(JSON.stringify({ ...config, os: undefined }), origin)), `${pre}"os" is missing, expected a string`);
  t.is(fails(() => parseConfig(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: ['../x'] } }), origin)), `${pre}"rootfs.diff_ids[0]" "../x" is not a sha256 digest (sha256:<64 hex>)`);
  const m = `image app:1: manifest sha256:${'a'.repeat(64)}: `;
  t.is(fails(() => parseManifest(JSON.stringify({ schemaVersion: 2, config: d('c'), layers: [{ ...d('1'), size: -1 }] }), origin)), `${m}"layers[0].size" -1 is not a byte count`);
  t.is(fails(() => parseManifest(JSON.stringify({ schemaVersion: 2, config: d('c') }), origin)), `${m}"layers" is missing, expected a list`);
  t.is(fails(() => parseIndex(JSON.stringify({ schemaVersion: 2, manifests: [{ ...d('2'), platform: { os: 1 } }] }), origin)), `image app:1: index sha256:${'a'.repeat(64)}: "manifests[0].platform.os" is a number, expected a string`);
});
