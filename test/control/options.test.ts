import test from 'ava';
import { parseBuildArg, parseBuildContext, parseBuildPlatform, parseOutputSpec, parsePlatform } from '../../control/options.ts';

test('--output strings become typed specs, once', (t) => {
  t.like(parseOutputSpec('type=oci,dest=/tmp/app.tar'), { type: 'oci', dest: '/tmp/app.tar', tar: true });
  t.like(parseOutputSpec('type=oci,dest=/tmp/app,tar=false'), { type: 'oci', tar: false });
  t.like(parseOutputSpec('type=docker,dest=/tmp/a.tar,name=app:1'), { type: 'docker', names: ['app:1'] });
  t.like(parseOutputSpec('type=registry,name=r/app:1'), { type: 'image', push: true, names: ['r/app:1'] });
  t.like(parseOutputSpec('/tmp/out'), { type: 'local', dest: '/tmp/out' });
  t.throws(() => parseOutputSpec('type=floppy'), { message: /unknown output type "floppy"/ });
  t.throws(() => parseOutputSpec('type=oci'), { message: /needs dest=PATH/ });
});

test('--build-arg, --build-context and --platform parse as docker buildx does', (t) => {
  t.deepEqual(parseBuildArg('A=b=c'), ['A', 'b=c']);
  t.deepEqual(parseBuildArg('FROM_ENV', { FROM_ENV: 'x' }), ['FROM_ENV', 'x']);
  t.is(parseBuildArg('UNSET', {}), undefined);
  t.deepEqual(parseBuildContext('base=docker-image://busybox:1'), ['base', { type: 'image', ref: 'busybox:1' }]);
  t.deepEqual(parseBuildContext('base=oci-layout:///srv/layout:v2'), ['base', { type: 'oci-layout', dir: '/srv/layout', tag: 'v2' }]);
  t.deepEqual(parseBuildContext('bin=/usr/bin'), ['bin', { type: 'local', dir: '/usr/bin' }]);
  t.throws(() => parseBuildContext('bin=/does/not/exist'), { message: /is not a directory/ });
  t.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
  t.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  t.deepEqual(parsePlatform('Linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  t.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  t.deepEqual(parsePlatform('linux/amd64,linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  t.throws(() => parsePlatform('linux'), { message: /expected os\/arch/ });
  t.throws(() => parsePlatform('linux/amd64,linux/arm64'), { message: /^building several platforms at once \(linux\/amd64, linux\/arm64\) is not supported yet$/ });
  t.throws(() => parsePlatform('linux/am d64'), { message: /invalid platform: "am d64" is an invalid component/ });
  const amd64 = { os: 'linux', architecture: 'amd64' };
  t.deepEqual(parseBuildPlatform('linux/x86_64', amd64), amd64);
  t.throws(() => parseBuildPlatform('linux/arm64', amd64), { message: 'building for linux/arm64 is not supported yet: RUN steps execute on this machine, which is linux/amd64' });
});

test('--cache-to and --cache-from parse as docker buildx does; unknown keys and types are refused', async (t) => {
  const { parseCacheFrom, parseCacheTo } = await import('../../control/cache-spec.ts');
  t.deepEqual(parseCacheTo('type=registry,ref=reg.example/app:cache,mode=max'), { type: 'registry', ref: 'reg.example/app:cache', mode: 'max', ignoreError: true });
  t.deepEqual(parseCacheTo('type=local,dest=/ci/cache,ignore-error=false'), { type: 'local', dest: '/ci/cache', mode: 'min', ignoreError: false });
  t.deepEqual(parseCacheFrom('reg.example/app:cache'), { type: 'registry', ref: 'reg.example/app:cache' });
  t.deepEqual(parseCacheFrom('type=local,src=/ci/cache'), { type: 'local', src: '/ci/cache' });
  t.throws(() => parseCacheTo('type=registry,ref=r/a:c,foo=bar'), { message: /--cache-to type=registry: unknown key "foo"/ });
  t.throws(() => parseCacheTo('type=s3,bucket=x'), { message: /--cache-to: unsupported type "s3"/ });
  t.throws(() => parseCacheTo('type=local'), { message: /needs dest=DIR/ });
  t.throws(() => parseCacheTo('type=registry,ref=r/a:c,mode=all'), { message: /mode must be min or max/ });
  t.throws(() => parseCacheFrom('type=local,dest=/x'), { message: /unknown key "dest"/ });
});
