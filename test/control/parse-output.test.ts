// `--output` as docker buildx reads it: every key, quoted name lists, and unknown keys refused.
import test from 'ava';
import { parseOutputSpec, splitOutputFields, stdoutOutput } from '../../control/parse-output.ts';
import { OutputKeys, OutputTypes } from '../../control/output-keys.ts';

test('a quoted field keeps its commas, as buildx\'s CSV reading does', (t) => {
  t.deepEqual(splitOutputFields('type=image,"name=a:1,b:2"'), ['type=image', 'name=a:1,b:2']);
  t.deepEqual(splitOutputFields('type=image,name="a:1,b:2",push=true'), ['type=image', 'name=a:1,b:2', 'push=true']);
  t.deepEqual(splitOutputFields('"annotation.x=say ""hi"""'), ['annotation.x=say "hi"']);
  t.throws(() => splitOutputFields('type=image,"name=a'), { message: /double quote is not closed/ });
});

test('name= lists several names; each is checked before the build', (t) => {
  t.like(parseOutputSpec('type=image,"name=app:1,registry.local/app:2"'), { type: 'image', names: ['app:1', 'registry.local/app:2'], push: false });
  t.like(parseOutputSpec('type=oci,dest=/tmp/x.tar,"name=a,b"'), { names: ['a', 'b'] });
  t.throws(() => parseOutputSpec('type=image,name=Bad Name!'), { code: 'REFERENCE_INVALID' });
});

test('push= and oci-mediatypes= are booleans as Go reads them; anything else is refused', (t) => {
  t.like(parseOutputSpec('type=image,name=a,push=true'), { push: true });
  t.like(parseOutputSpec('type=image,name=a,push=1'), { push: true });
  t.like(parseOutputSpec('type=image,name=a,push=false'), { push: false });
  t.like(parseOutputSpec('type=registry,name=a'), { type: 'image', push: true });
  t.like(parseOutputSpec('type=oci,dest=/tmp/x.tar,oci-mediatypes=false'), { ociMediaTypes: false });
  t.is((parseOutputSpec('type=oci,dest=/tmp/x.tar') as { ociMediaTypes?: boolean }).ociMediaTypes, undefined);
  t.throws(() => parseOutputSpec('type=image,push=yes'), { message: '--output type=image: push=yes is not true or false' });
});

test('annotations go where their prefix says', (t) => {
  const spec = parseOutputSpec('type=oci,dest=/tmp/x.tar,annotation.org.opencontainers.image.title=app,annotation-manifest.m=1,annotation-index.i=2,annotation-manifest-descriptor.d=3');
  t.deepEqual((spec as { annotations?: unknown }).annotations, {
    manifest: { 'org.opencontainers.image.title': 'app', m: '1' },
    index: { i: '2' },
    manifestDescriptor: { d: '3' },
  });
  t.throws(() => parseOutputSpec('type=image,oci-mediatypes=false,annotation.a=b'), { message: /Docker's media types \(oci-mediatypes=false\) cannot carry annotations/ });
});

test('a key the type does not take is refused, naming the ones it does', (t) => {
  const e = t.throws(() => parseOutputSpec('type=oci,dest=/tmp/x.tar,foo=bar'));
  t.is(e?.message, '--output type=oci: unknown key "foo"');
  t.is((e as { hint?: string }).hint, 'type=oci takes type, dest, tar, name, oci-mediatypes, annotation.KEY, annotation-manifest.KEY, annotation-index.KEY, annotation-manifest-descriptor.KEY, compression, compression-level, force-compression, rewrite-timestamp');
  t.throws(() => parseOutputSpec('type=local,dest=/tmp/d,name=x'), { message: '--output type=local: unknown key "name"' });
  t.throws(() => parseOutputSpec('type=oci,dest=/tmp/x.tar,push=true'), { message: '--output type=oci: unknown key "push"' });
  // a bare prefix is no annotation
  t.throws(() => parseOutputSpec('type=image,annotation.=x'), { message: '--output type=image: unknown key "annotation."' });
  for (const type of OutputTypes) t.true(OutputKeys[type].includes('type'));
});

test('rewrite-timestamp=true|false on image outputs, as buildx', (t) => {
  t.like(parseOutputSpec('type=image,name=a,rewrite-timestamp=false'), { type: 'image', rewriteTimestamp: false });
  t.like(parseOutputSpec('type=oci,dest=/tmp/x.tar,rewrite-timestamp=true'), { type: 'oci', rewriteTimestamp: true });
  t.false('rewriteTimestamp' in parseOutputSpec('type=oci,dest=/tmp/x.tar'));
  t.throws(() => parseOutputSpec('type=image,rewrite-timestamp=yes'), { message: '--output type=image: rewrite-timestamp=yes is not true or false' });
  t.throws(() => parseOutputSpec('type=local,dest=/tmp/d,rewrite-timestamp=true'), { message: '--output type=local: unknown key "rewrite-timestamp"' });
});

test('stdout: -o -, dest=- for tar, oci and docker; never a directory', (t) => {
  t.deepEqual(parseOutputSpec('-'), { type: 'tar', dest: '-' });
  t.like(parseOutputSpec('type=oci,dest=-'), { type: 'oci', dest: '-', tar: true });
  t.like(parseOutputSpec('type=docker,dest=-'), { type: 'docker', dest: '-' });
  t.throws(() => parseOutputSpec('type=oci,dest=-,tar=false'), { message: /writes a directory, which cannot go to stdout/ });
  t.throws(() => parseOutputSpec('type=local,dest=-'), { message: /writes a directory, which cannot go to stdout/ });
  t.like(stdoutOutput([parseOutputSpec('type=image'), parseOutputSpec('type=oci,dest=-')]), { type: 'oci' });
  t.is(stdoutOutput([parseOutputSpec('type=oci,dest=/tmp/a.tar')]), undefined);
});

test('type=docker without dest is a load into the Docker daemon', (t) => {
  const spec = parseOutputSpec('type=docker,name=app:1');
  t.is(spec.type, 'docker');
  t.false('dest' in spec);
});

test('--load is type=docker without dest; --push beside other outputs is one more output, as buildx', async (t) => {
  const { resolveBuildOptions } = await import('../../control/options.ts');
  const { contextDir, removeDir } = await import('../_support/tsbuild.ts');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\n' });
  try {
    const load = resolveBuildOptions({ context: ctx, tags: ['app:1'], load: true });
    t.deepEqual(load.outputs, [{ type: 'docker', names: ['app:1'] }]);
    const both = resolveBuildOptions({ context: ctx, tags: ['r.local/app:1'], outputs: [parseOutputSpec('type=oci,dest=/tmp/a.tar')], push: true });
    t.deepEqual(both.outputs.map((o) => [o.type, 'push' in o && o.push, o.type === 'image' && o.names]), [['oci', false, false], ['image', true, ['r.local/app:1']]]);
    const alone = resolveBuildOptions({ context: ctx, tags: ['r.local/app:1'], push: true });
    t.deepEqual(alone.outputs, [{ type: 'image', names: ['r.local/app:1'], push: true }]);
  } finally {
    removeDir(ctx);
  }
});

test('-t names the image in every output that carries names, over name=, with a warning; -o dest=x needs a type', async (t) => {
  const { resolveBuildOptions } = await import('../../control/options.ts');
  const { contextDir, removeDir } = await import('../_support/tsbuild.ts');
  const ctx = contextDir({ Dockerfile: 'FROM scratch\n' });
  try {
    // as docker buildx: -t wins; tsbuild says so where buildx drops name= silently
    const both = resolveBuildOptions({ context: ctx, tags: ['keep:3'], outputs: [parseOutputSpec('type=image,name=r.local/x:1,push=true'), parseOutputSpec('type=oci,dest=/tmp/a.tar,name=other:1'), parseOutputSpec('type=oci,dest=/tmp/b.tar')] });
    t.deepEqual(both.outputs.map((o) => 'names' in o && o.names), [['keep:3'], ['keep:3'], ['keep:3']]);
    t.deepEqual(both.warnings, [
      '--output type=image: name=r.local/x:1 is replaced by the -t names (keep:3), as docker buildx does; drop -t to use name=',
      '--output type=oci: name=other:1 is replaced by the -t names (keep:3), as docker buildx does; drop -t to use name=',
    ]);
    // the same names spelled otherwise: nothing is replaced
    t.deepEqual(resolveBuildOptions({ context: ctx, tags: ['c'], outputs: [parseOutputSpec('type=image,name=docker.io/library/c:latest')] }).warnings, []);
    const named = resolveBuildOptions({ context: ctx, outputs: [parseOutputSpec('type=image,name=r.local/x:1')] });
    t.deepEqual([named.outputs[0].type === 'image' && named.outputs[0].names, named.warnings], [['r.local/x:1'], []]);
  } finally {
    removeDir(ctx);
  }
  t.throws(() => parseOutputSpec('dest=out'), { message: 'invalid --output "dest=out": type is required' });
  t.deepEqual(parseOutputSpec('out'), { type: 'local', dest: `${process.cwd()}/out` });
});
