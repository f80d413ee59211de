// Every `-o` key as docker buildx takes it, judged by tools nobody here wrote: skopeo, umoci,
// oci-image-tool, a docker-registry, and Docker's own `load` where Docker runs.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextDir, removeDir, runTsbuild, tempDir, tsbuildBin } from '../_support/tsbuild.ts';
import { startRegistry, type TestRegistry } from '../_support/registry.ts';
import { docker, dockerHost } from '../_support/docker.ts';

const root = tempDir('tsbuild-root-');
const out = tempDir('tsbuild-out-');
// no base image: the build is quick, and still has two layers to judge
const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nLABEL purpose=outputs\n', 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
let registry: TestRegistry | undefined;

test.after.always(async () => {
  await registry?.stop();
  removeDir(root);
  removeDir(out);
  removeDir(ctx);
});

const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8' });
const rawManifest = (ref: string) => JSON.parse(skopeo('inspect', '--raw', ...(ref.startsWith('docker://') ? ['--tls-verify=false'] : []), ref)) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string }[]; annotations?: Record<string, string>; manifests?: { digest: string; annotations?: Record<string, string> }[] };
function untar(tar: string, name: string): string {
  const dir = join(out, name);
  mkdirSync(dir);
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  return dir;
}
const build = (args: string[], env?: NodeJS.ProcessEnv) => runTsbuild(['build', '--progress', 'plain', ...args, ctx], { root, env });

test('oci-mediatypes=false writes Docker\'s media types; skopeo reads both', async (t) => {
  const oci = join(out, 'oci-types.tar');
  const docker = join(out, 'docker-types.tar');
  const r = await build(['-o', `type=oci,dest=${oci}`, '-o', `type=oci,dest=${docker},oci-mediatypes=false`]);
  t.is(r.code, 0, r.stderr);
  const a = rawManifest(`oci-archive:${oci}`);
  t.is(a.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.deepEqual(a.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);
  const b = rawManifest(`oci-archive:${docker}`);
  t.is(b.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  t.is(b.config.mediaType, 'application/vnd.docker.container.image.v1+json');
  t.deepEqual(b.layers.map((l) => l.mediaType), ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);
  // the same image either way: one config
  const inspectA = JSON.parse(skopeo('inspect', '--config', `oci-archive:${oci}`)) as { config: { Labels: Record<string, string> }; rootfs: { diff_ids: string[] } };
  const inspectB = JSON.parse(skopeo('inspect', '--config', `oci-archive:${docker}`)) as typeof inspectA;
  t.deepEqual(inspectA, inspectB);
  t.is(inspectB.config.Labels.purpose, 'outputs');
  skopeo('copy', `oci-archive:${docker}`, `dir:${join(out, 'copied-docker-types')}`);
});

test('compression=zstd with oci-mediatypes=false gets OCI media types and a warning, as BuildKit does', async (t) => {
  // Docker's media types have no zstd layer: skopeo refused the schema 2 manifest of zstd layers
  const tar = join(out, 'zstd-docker.tar');
  const r = await build(['-o', `type=oci,dest=${tar},compression=zstd,oci-mediatypes=false`]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /compression=zstd has no Docker media type, so this output uses OCI media types/);
  const m = rawManifest(`oci-archive:${tar}`);
  t.is(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  for (const l of m.layers) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  const copied = join(out, 'zstd-copied');
  t.notThrows(() => skopeo('copy', `oci-archive:${tar}`, `oci:${copied}:x`));
  // each zstd frame states its tar's size, so the loaded copy (zstd blobs) has the built one's size
  const loaded = tempDir('tsbuild-zstd-load-');
  t.teardown(() => removeDir(loaded));
  t.is((await runTsbuild(['load', '-i', tar], { root: loaded })).code, 0);
  t.is((await build(['-t', 'zstd-size:1'])).code, 0);
  const size = async (r: string, name: string) => (await runTsbuild(['inspect', '--format', '{{.Size}}', name], { root: r })).stdout.trim();
  const id = (await runTsbuild(['images', '-a', '-q'], { root: loaded })).stdout.trim();
  t.is(await size(loaded, id), await size(root, 'zstd-size:1'));
});

test('annotation.KEY, annotation-index.KEY and annotation-manifest-descriptor.KEY land where buildx puts them', async (t) => {
  const tar = join(out, 'annotated.tar');
  const r = await build(['-o', `type=oci,dest=${tar},name=annotated:1,annotation.org.opencontainers.image.title=demo,annotation-manifest.org.opencontainers.image.version=1.2,annotation-index.org.opencontainers.image.vendor=acme,annotation-manifest-descriptor.note=entry`]);
  t.is(r.code, 0, r.stderr);
  const m = rawManifest(`oci-archive:${tar}`);
  t.deepEqual(m.annotations, { 'org.opencontainers.image.title': 'demo', 'org.opencontainers.image.version': '1.2' });
  const layout = untar(tar, 'annotated');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { annotations?: Record<string, string>; manifests: { annotations?: Record<string, string> }[] };
  t.deepEqual(index.annotations, { 'org.opencontainers.image.vendor': 'acme' });
  t.is(index.manifests[0].annotations?.note, 'entry');
  t.is(index.manifests[0].annotations?.['org.opencontainers.image.ref.name'], '1');
  execFileSync('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=1', layout]);
  const bundle = join(out, 'annotated-bundle');
  execFileSync('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
  t.is(readFileSync(join(bundle, 'rootfs', 'b.txt'), 'utf8'), 'beta\n');
});

test('"name=a,b" names the image twice: two tags in the store, two entries in a layout', async (t) => {
  const r = await build(['-o', 'type=image,"name=multi:1,multi:2"']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /as multi:1, multi:2/);
  const images = await runTsbuild(['images'], { root });
  t.regex(images.stdout, /^multi\s+1\s/m);
  t.regex(images.stdout, /^multi\s+2\s/m);
  const tar = join(out, 'named.tar');
  const r2 = await build(['-o', `type=oci,dest=${tar},"name=named:1,named:2"`]);
  t.is(r2.code, 0, r2.stderr);
  t.is(JSON.parse(skopeo('inspect', `oci-archive:${tar}:2`)).Labels.purpose, 'outputs');
  t.is(JSON.parse(skopeo('inspect', `oci-archive:${tar}:1`)).Labels.purpose, 'outputs');
});

test('annotation-index on type=image tags an index around the manifest: listed, and a base for the next build', async (t) => {
  const r = await build(['-o', 'type=image,name=indexed-local:1,annotation-index.org.opencontainers.image.vendor=acme']);
  t.is(r.code, 0, r.stderr);
  const images = await runTsbuild(['images'], { root });
  t.regex(images.stdout, /^indexed-local\s+1\s/m);
  const next = contextDir({ Dockerfile: 'FROM indexed-local:1\nCOPY c.txt /c.txt\n', 'c.txt': 'gamma\n' });
  try {
    const tar = join(out, 'on-index.tar');
    const r2 = await runTsbuild(['build', '--progress', 'plain', '-o', `type=oci,dest=${tar},name=on-index:1`, next], { root });
    t.is(r2.code, 0, r2.stderr);
    const layout = untar(tar, 'on-index');
    const bundle = join(out, 'on-index-bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
    t.is(readFileSync(join(bundle, 'rootfs', 'a.txt'), 'utf8'), 'alpha\n');
    t.is(readFileSync(join(bundle, 'rootfs', 'c.txt'), 'utf8'), 'gamma\n');
  } finally {
    removeDir(next);
  }
});

test('an unknown -o key is refused before the build, naming the keys that type takes', async (t) => {
  const r = await build(['-o', `type=oci,dest=${join(out, 'never.tar')},foo=bar`]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^ERROR: --output type=oci: unknown key "foo"$/m);
  t.regex(r.stderr, /^hint: type=oci takes type, dest, tar, name, oci-mediatypes, annotation\.KEY/m);
  t.notRegex(r.stderr, /COPY a\.txt/, 'no step ran');
  t.notRegex(r.stderr, /^\s+at /m);
  const r2 = await build(['-o', 'type=image,push=maybe']);
  t.regex(r2.stderr, /^ERROR: --output type=image: push=maybe is not true or false$/m);
  const r3 = await build(['-o', 'type=registry']);
  t.is(r3.code, 1);
  t.regex(r3.stderr, /^ERROR: cannot push an image without a name$/m);
  t.notRegex(r3.stderr, /COPY a\.txt/, 'no step ran');
});

function buildToStdout(output: string): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'quiet', '-o', output, ctx], { maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

test('-o - > x.tar is a valid tar of the files, and nothing else is on stdout (the id goes to stderr)', (t) => {
  const r = buildToStdout('-');
  t.is(r.status, 0, r.stderr);
  const tar = join(out, 'dash.tar');
  writeFileSync(tar, r.stdout);
  t.deepEqual(execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.replace(/^\.?\//, '')).filter((l) => l !== '').sort(), ['a.txt', 'b.txt']);
  t.regex(r.stderr, /^sha256:[0-9a-f]{64}$/m);
  t.notRegex(r.stdout.subarray(-1024).toString('latin1'), /sha256:/);
});

test('type=oci,dest=- and type=docker,dest=- stream archives skopeo reads', (t) => {
  for (const [type, transport] of [['oci', 'oci-archive'], ['docker', 'docker-archive']] as const) {
    const r = buildToStdout(`type=${type},dest=-,name=streamed:1`);
    t.is(r.status, 0, r.stderr);
    const tar = join(out, `streamed-${type}.tar`);
    writeFileSync(tar, r.stdout);
    const inspect = JSON.parse(skopeo('inspect', `${transport}:${tar}`)) as { Labels: Record<string, string>; Layers: string[] };
    t.is(inspect.Labels.purpose, 'outputs', type);
    t.is(inspect.Layers.length, 2, type);
    const id = /^(sha256:[0-9a-f]{64})$/m.exec(r.stderr)?.[1];
    t.is(JSON.parse(skopeo('inspect', '--raw', `${transport}:${tar}`)).config.digest, id, `${type}: the id printed on stderr is the archive's config`);
  }
});

test('two outputs on stdout are refused before the build', async (t) => {
  const r = await build(['-o', '-', '-o', 'type=oci,dest=-']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^ERROR: --output: type=tar,dest=- and type=oci,dest=- would both write to stdout$/m);
});

test('an archive for stdout is refused when stdout is a terminal, as buildx does', (t) => {
  // `script` gives the build a pseudo-terminal as stdout
  const r = spawnSync('script', ['-qec', `${process.execPath} ${tsbuildBin} --root ${root} build -q -o type=oci,dest=- ${ctx}`, '/dev/null'], { encoding: 'utf8' });
  t.is(r.status, 1, r.stdout);
  t.regex(r.stdout, /ERROR: --output type=oci,dest=-: refusing to write an archive to a terminal/);
  t.regex(r.stdout, /hint: redirect it \(> out\.tar\), pipe it, or name a file: dest=out\.tar/);
});

test('several outputs at once: the store, an OCI tar and a docker archive of one image', async (t) => {
  const oci = join(out, 'several.oci.tar');
  const dockerTar = join(out, 'several.docker.tar');
  const r = await build(['-t', 'several:1', '-o', 'type=image', '-o', `type=oci,dest=${oci}`, '-o', `type=docker,dest=${dockerTar}`]);
  t.is(r.code, 0, r.stderr);
  const fromOci = JSON.parse(skopeo('inspect', '--raw', `oci-archive:${oci}`)).config.digest as string;
  const fromDocker = JSON.parse(skopeo('inspect', '--raw', `docker-archive:${dockerTar}`)).config.digest as string;
  t.is(fromOci, fromDocker);
  const images = await runTsbuild(['images'], { root });
  t.regex(images.stdout, new RegExp(`^several\\s+1\\s+${fromOci.slice(7, 19)}`, 'm'));
});

test.serial('type=image,push=true pushes every name; oci-mediatypes=false and annotation-index change what the registry serves', async (t) => {
  registry = await startRegistry();
  const plain = `${registry.host}/out/plain:1`;
  const dockerTypes = `${registry.host}/out/dockertypes:1`;
  const indexed = `${registry.host}/out/indexed:1`;
  const r = await build([
    '-o', `type=image,"name=${plain},${registry.host}/out/plain:2",push=true`,
    '-o', `type=image,name=${dockerTypes},push=true,oci-mediatypes=false`,
    '-o', `type=image,name=${indexed},push=true,annotation-index.org.opencontainers.image.vendor=acme,annotation.org.opencontainers.image.title=demo`,
  ]);
  t.is(r.code, 0, r.stderr);
  t.is(rawManifest(`docker://${plain}`).mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.is(JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/out/plain:2`)).Labels.purpose, 'outputs');
  t.is(rawManifest(`docker://${dockerTypes}`).mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const index = rawManifest(`docker://${indexed}`);
  t.is(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.deepEqual(index.annotations, { 'org.opencontainers.image.vendor': 'acme' });
  const m = rawManifest(`docker://${registry.host}/out/indexed@${index.manifests![0].digest}`);
  t.deepEqual(m.annotations, { 'org.opencontainers.image.title': 'demo' });
  // skopeo picks the platform from the index as any client would
  t.is(JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${indexed}`)).Labels.purpose, 'outputs');
});

test.serial('type=docker without dest (and --load) loads into the Docker daemon; with none answering, a clear error before the build', async (t) => {
  const none = await build(['--load', '-t', 'nowhere:1'], { DOCKER_HOST: `unix://${join(out, 'no-docker.sock')}` });
  t.is(none.code, 1);
  t.regex(none.stderr, new RegExp(`^ERROR: cannot load into the Docker daemon: nothing answers at unix://${out}/no-docker.sock`, 'm'));
  t.regex(none.stderr, /^hint: start Docker, set DOCKER_HOST/m);
  t.notRegex(none.stderr, /COPY a\.txt/, 'no step ran');
  const host = await dockerHost();
  if (!host) {
    t.log('docker not installed or dockerd cannot start: the load into a daemon is not checked');
    return;
  }
  // a static busybox as the whole image: docker runs what tsbuild loaded
  const runnable = contextDir({ Dockerfile: 'FROM scratch\nCOPY --from=bin busybox /bin/busybox\nCOPY a.txt /a.txt\nLABEL purpose=outputs\nCMD ["/bin/busybox", "cat", "/a.txt"]\n', 'a.txt': 'alpha\n' });
  const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', 'bin=/usr/bin', '--load', '-t', 'tsbuild-loaded:1', runnable], { root, env: { DOCKER_HOST: host } });
  removeDir(runnable);
  t.is(r.code, 0, r.stderr);
  t.is(await docker(host, ['run', '--rm', '--network', 'none', 'tsbuild-loaded:1']), 'alpha\n');
  const r2 = await build(['-o', 'type=docker,"name=tsbuild-loaded:2,tsbuild-loaded:3"'], { DOCKER_HOST: host });
  t.is(r2.code, 0, r2.stderr);
  // and the archive piped into `docker load`, as people do with buildx
  const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${tsbuildBin}" --root "${root}" build -q -o type=docker,dest=-,name=tsbuild-loaded:4 "${ctx}" | /usr/bin/docker load`], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: host } });
  t.is(piped.status, 0, piped.stderr);
  t.regex(piped.stdout, /Loaded image: tsbuild-loaded:4/);
  try {
    for (const tag of ['1', '2', '3', '4']) {
      const labels = JSON.parse(await docker(host, ['image', 'inspect', '--format', '{{json .Config.Labels}}', `tsbuild-loaded:${tag}`])) as Record<string, string>;
      t.is(labels.purpose, 'outputs', tag);
    }
  } finally {
    await docker(host, ['rmi', 'tsbuild-loaded:1', 'tsbuild-loaded:2', 'tsbuild-loaded:3', 'tsbuild-loaded:4']).catch(() => '');
  }
});
