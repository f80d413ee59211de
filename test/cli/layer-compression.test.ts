// Layers are stored uncompressed in the local store and compressed only when they leave: -o
// type=oci|docker and pushes compress as `compression=` says (gzip by default, as buildx), once per
// compression, and a later export reuses the stored blob. Checked with skopeo and umoci.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { startRegistry, type TestRegistry } from '../_support/registry.ts';

interface Manifest {
  config: { digest: string };
  layers: { mediaType: string; digest: string; size: number }[];
}

const work = tempDir('tsbuild-layers-');
const root = join(work, 'root');
const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo hello > /hello.txt\nCOPY data.txt /data.txt\n', 'data.txt': 'x'.repeat(100_000) });
let registry: TestRegistry | undefined;

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
  removeDir(ctx);
});

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobFile = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;

/** The manifest index.json's first entry names, in an OCI layout directory. */
function layoutManifest(layout: string, ref?: string): Manifest {
  const index = readJson<{ manifests: { digest: string; annotations?: Record<string, string> }[] }>(join(layout, 'index.json'));
  const entry = ref ? index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref) : index.manifests[0];
  if (!entry) throw new Error(`${ref} not in ${layout}/index.json`);
  return readJson<Manifest>(blobFile(layout, entry.digest));
}

function diffIds(layout: string, m: Manifest): string[] {
  return readJson<{ rootfs: { diff_ids: string[] } }>(blobFile(layout, m.config.digest)).rootfs.diff_ids;
}

function untar(tar: string): string {
  const dir = `${tar}.d`;
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  return dir;
}

const store = () => join(root, 'content');

const compressions = {
  gzip: { magic: (b: Buffer) => b.readUInt16BE(0) === 0x1f8b, decompress: gunzipSync },
  zstd: { magic: (b: Buffer) => b.readUInt32LE(0) === 0xfd2fb528, decompress: zstdDecompressSync },
} as const;

/** Each layer of `m` in `layout` has the compression's media type and magic, and decompresses to the local store's uncompressed layer. */
function assertCompressedLayers(t: ExecutionContext, layout: string, m: Manifest, local: Manifest, compression: keyof typeof compressions): void {
  const { magic, decompress } = compressions[compression];
  t.is(m.layers.length, local.layers.length);
  for (const [i, l] of m.layers.entries()) {
    t.is(l.mediaType, `application/vnd.oci.image.layer.v1.tar+${compression}`);
    const blob = readFileSync(blobFile(layout, l.digest));
    t.true(magic(blob), `${compression} magic`);
    t.is(sha256(decompress(blob)), local.layers[i].digest);
  }
}

test.serial('the local store holds layers uncompressed; -o type=oci gzips them by default, with the same image id', async (t) => {
  const tar = join(work, 'gzip.oci.tar');
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'plain:1', '-o', 'type=image', '-o', `type=oci,dest=${tar}`, ctx], { root });
  t.is(r.code, 0, r.stderr);

  const local = layoutManifest(store(), 'plain:1');
  t.true(local.layers.length >= 3);
  for (const l of local.layers) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar');
  // an uncompressed layer's digest is its diffID
  t.deepEqual(local.layers.map((l) => l.digest), diffIds(store(), local));
  const top = readFileSync(blobFile(store(), local.layers.at(-1)!.digest));
  t.is(sha256(top), local.layers.at(-1)!.digest);
  t.true(top.includes('x'.repeat(1000)), 'the tar itself, not compressed');

  const layout = untar(tar);
  const oci = layoutManifest(layout);
  t.is(oci.config.digest, local.config.digest, 'the image id does not depend on the compression');
  t.deepEqual(diffIds(layout, oci), diffIds(store(), local));
  assertCompressedLayers(t, layout, oci, local, 'gzip');
  const bundle = join(work, 'gzip-bundle');
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:1`, bundle]);
  t.is(readFileSync(join(bundle, 'rootfs', 'hello.txt'), 'utf8'), 'hello\n');
  // and the local store is an OCI layout skopeo reads
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${store()}:plain:1`], { encoding: 'utf8' })) as { Layers: string[] };
  t.deepEqual(inspect.Layers, local.layers.map((l) => l.digest));
});

test.serial('a second export reuses the stored gzip blobs instead of compressing again', async (t) => {
  const first = untar(join(work, 'gzip.oci.tar'));
  const gz = layoutManifest(first);
  const before = gz.layers.map((l) => statSync(blobFile(store(), l.digest)));
  const tar = join(work, 'again.oci.tar');
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'plain:1', '-o', `type=oci,dest=${tar}`, '-o', `type=docker,dest=${join(work, 'again.docker.tar')}`, ctx], { root });
  t.is(r.code, 0, r.stderr);
  const again = layoutManifest(untar(tar));
  t.deepEqual(again, gz, 'the same manifest: the same blobs');
  // a blob made again would have been written to a new file and renamed over the old one
  const after = gz.layers.map((l) => statSync(blobFile(store(), l.digest)));
  t.deepEqual(after.map((s) => [s.ino, s.mtimeMs]), before.map((s) => [s.ino, s.mtimeMs]));
  const docker = readJson<{ Layers: string[] }[]>(join(untar(join(work, 'again.docker.tar')), 'manifest.json'));
  t.deepEqual(docker[0].Layers, gz.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`), 'type=docker shares the gzip blobs');
});

test.serial('compression=zstd writes zstd layers skopeo converts and umoci unpacks; compression=uncompressed writes the tars', async (t) => {
  const zdir = join(work, 'zstd-layout');
  const plain = join(work, 'plain.oci.tar');
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', 'plain:1', '-o', `type=oci,dest=${zdir},tar=false,compression=zstd,compression-level=19`, '-o', `type=oci,dest=${plain},compression=uncompressed`, ctx], { root });
  t.is(r.code, 0, r.stderr);
  const local = layoutManifest(store(), 'plain:1');
  const zm = layoutManifest(zdir);
  t.is(zm.config.digest, local.config.digest);
  assertCompressedLayers(t, zdir, zm, local, 'zstd');
  // umoci 0.4 reads gzip only: skopeo decompresses the zstd layers into a gzip copy, umoci checks its diffIDs
  const converted = join(work, 'zstd-as-gzip');
  execFileSync('skopeo', ['copy', '--dest-compress', '--dest-compress-format', 'gzip', `oci:${zdir}:1`, `oci:${converted}:1`]);
  const bundle = join(work, 'zstd-bundle');
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${converted}:1`, bundle]);
  t.is(readFileSync(join(bundle, 'rootfs', 'data.txt'), 'utf8'), 'x'.repeat(100_000));

  const pm = layoutManifest(untar(plain));
  t.deepEqual(pm.layers, local.layers, 'uncompressed: the local store\'s blobs');
});

test('an unknown compression or a bad level is one clear line', async (t) => {
  const r = await runTsbuild(['build', '-o', `type=oci,dest=${join(work, 'x.tar')},compression=lz4`, ctx], { root });
  t.is(r.code, 1);
  t.regex(r.stderr, /^ERROR: --output: unknown compression "lz4"/m);
  t.regex(r.stderr, /gzip, zstd or uncompressed/);
  t.notRegex(r.stderr, /^\s+at /m);
  const r2 = await runTsbuild(['build', '-o', `type=oci,dest=${join(work, 'x.tar')},compression=gzip,compression-level=12`, ctx], { root });
  t.is(r2.code, 1);
  t.regex(r2.stderr, /^ERROR: --output: compression-level "12" is not a gzip level/m);
});

test.serial('a push compresses (zstd when asked); a pulled gzip layer keeps its blob unless force-compression=true', async (t) => {
  registry = await startRegistry();
  const name = `${registry.host}/team/layers:1`;
  const r = await runTsbuild(['build', '--progress', 'plain', '-t', name, '-o', 'type=registry', ctx], { root });
  t.is(r.code, 0, r.stderr);
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as Manifest;
  t.true(raw.layers.length >= 3);
  for (const l of raw.layers) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.is(raw.config.digest, layoutManifest(store(), 'plain:1').config.digest);

  const zname = `${registry.host}/team/layers:zstd`;
  const rz = await runTsbuild(['build', '--progress', 'plain', '-t', zname, '-o', 'type=registry,compression=zstd', ctx], { root });
  t.is(rz.code, 0, rz.stderr);
  const zraw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${zname}`], { encoding: 'utf8' })) as Manifest;
  for (const l of zraw.layers) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');

  // a fresh root pulls the gzip image: its layers stay the registry's blobs, locally and in exports
  const fresh = join(work, 'fresh-root');
  const next = contextDir({ Dockerfile: `FROM ${name}\nRUN echo more > /more.txt\n` });
  try {
    const kept = join(work, 'kept');
    const forced = join(work, 'forced');
    const rp = await runTsbuild(['build', '--progress', 'plain', '-t', 'next:1', '-o', 'type=image', '-o', `type=oci,dest=${kept},tar=false,compression=zstd`, '-o', `type=oci,dest=${forced},tar=false,compression=zstd,force-compression=true`, next], { root: fresh });
    t.is(rp.code, 0, rp.stderr);
    const local = layoutManifest(join(fresh, 'content'), 'next:1');
    const base = raw.layers.map((l) => l.digest);
    t.deepEqual(local.layers.slice(0, base.length).map((l) => l.digest), base, 'the pulled layers keep their gzip blobs in the store');
    t.is(local.layers.at(-1)!.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    const k = layoutManifest(kept);
    t.deepEqual(k.layers.slice(0, base.length).map((l) => l.digest), base, 'not forced: the gzip blobs are kept');
    t.is(k.layers.at(-1)!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    const f = layoutManifest(forced);
    for (const l of f.layers) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
    t.is(f.config.digest, k.config.digest);
    t.is(f.config.digest, local.config.digest);
  } finally {
    removeDir(next);
  }
});
