// SOURCE_DATE_EPOCH makes the image byte-reproducible (issue 10): the file times of the layers a
// build made are clamped to the epoch (as BuildKit's rewrite-timestamp=true), so two builds from two
// empty roots at different paths, minutes apart, give the same image id and manifest digest, in the
// local store and in an OCI archive. Earlier file times stay, a base image's layers are left as they
// are, rewrite-timestamp=false opts out, and without the epoch nothing is clamped.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { busyboxBinDir, buildBusybox, contextDir, removeDir, repoRoot, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { startRegistry } from '../_support/registry.ts';

const epoch = '1700000000';
const clamped = '2023-11-14 22:13:20';
const work = tempDir('tsbuild-repro-');
const app = contextDir({
  Dockerfile: 'FROM busybox\nCOPY old.txt new.txt /files/\nRUN mkdir -p /made/deep && echo hi > /made/deep/f && touch /files/new.txt\n',
  'old.txt': 'old\n',
  'new.txt': 'new\n',
});
// a file last changed in 2001 keeps its time: only later ones are clamped
utimesSync(join(app, 'old.txt'), new Date('2001-01-01T00:00:00Z'), new Date('2001-01-01T00:00:00Z'));

test.after.always(() => {
  removeDir(work);
  removeDir(app);
});

interface Manifest {
  config: { digest: string };
  layers: { digest: string; mediaType: string }[];
}

const blobPath = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
const readManifest = (dir: string, digest: string) => JSON.parse(readFileSync(blobPath(dir, digest), 'utf8')) as Manifest;

async function localManifest(root: string, name: string): Promise<{ digest: string; manifest: Manifest }> {
  const r = await runTsbuild(['inspect', name], { root });
  if (r.code !== 0) throw new Error(r.stderr);
  const digest = (JSON.parse(r.stdout) as { Descriptor: { digest: string } }[])[0].Descriptor.digest;
  return { digest, manifest: readManifest(join(root, 'content'), digest) };
}

/** `tar tv --full-time` of a layer blob as name → time (GNU tar reads gzip too). */
function layerTimes(blob: string): Map<string, string> {
  const out = execFileSync('tar', ['-tv', '--full-time', '--utc', '-f', blob], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  return new Map(out.trim().split('\n').map((l) => {
    const m = /^\S+ \S+ +\d+ (\S+ \S+) +(.*?)(?: -> .*)?$/.exec(l)!;
    return [m[2], m[1]];
  }));
}

test.serial('two fresh roots at different paths give the same image, locally and as -o type=oci; later times clamped, earlier kept', async (t) => {
  const roots = [join(work, 'a'), join(work, 'somewhere', 'else', 'b')];
  const results: { id: string; manifest: string; oci: string; layout: string }[] = [];
  for (const [i, root] of roots.entries()) {
    // the epoch from the environment in one root, as a build-arg in the other
    const env = i === 0 ? { SOURCE_DATE_EPOCH: epoch } : {};
    const arg = i === 0 ? [] : ['--build-arg', `SOURCE_DATE_EPOCH=${epoch}`];
    const base = await runTsbuild(['build', '--progress', 'quiet', ...arg, '--build-context', `busybox-bin=${busyboxBinDir}`, '-t', 'busybox', join(repoRoot, 'fixtures', 'busybox')], { root, env });
    t.is(base.code, 0, base.stderr);
    const tar = join(work, `app-${i}.tar`);
    const b = await runTsbuild(['build', '--progress', 'quiet', ...arg, '-o', 'type=image,name=app', '-o', `type=oci,dest=${tar},name=app`, app], { root, env });
    t.is(b.code, 0, b.stderr);
    const layout = join(work, `layout-${i}`);
    mkdirSync(layout);
    execFileSync('tar', ['-xf', tar, '-C', layout]);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    results.push({ id: b.stdout.trim(), manifest: (await localManifest(root, 'app')).digest, oci: index.manifests[0].digest, layout });
  }
  t.regex(results[0].id, /^sha256:[0-9a-f]{64}$/);
  t.is(results[1].id, results[0].id, 'the same image id from both roots');
  t.is(results[1].manifest, results[0].manifest, 'the same local manifest');
  t.is(results[1].oci, results[0].oci, 'the same OCI manifest digest');

  // the archive's layers (gzip): the busybox fixture's directories made by COPY, and this build's
  const { layout } = results[0];
  const layers = readManifest(layout, results[0].oci).layers.map((l) => layerTimes(blobPath(layout, l.digest)));
  t.is(layers[0].get('bin/'), clamped, 'a directory COPY made (the audit\'s bin/)');
  const copied = layers.at(-2)!;
  t.is(copied.get('files/'), clamped);
  t.is(copied.get('files/new.txt'), clamped);
  t.is(copied.get('files/old.txt'), '2001-01-01 00:00:00', 'an earlier file time stays');
  const ran = layers.at(-1)!;
  for (const name of ['made/', 'made/deep/', 'made/deep/f', 'files/new.txt']) t.is(ran.get(name), clamped, name);
  for (const times of layers) for (const [name, time] of times) t.true(time <= clamped, `${name}: ${time}`);

  // other tools take the archive, and unpack the clamped times
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:latest`], { encoding: 'utf8' })) as { Created: string };
  t.is(inspect.Created, '2023-11-14T22:13:20Z');
  const bundle = join(work, 'bundle');
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, bundle]);
  t.is(statSync(join(bundle, 'rootfs', 'made', 'deep', 'f')).mtimeMs, Number(epoch) * 1000);
  t.is(statSync(join(bundle, 'rootfs', 'files', 'old.txt')).mtime.toISOString(), '2001-01-01T00:00:00.000Z');
});

test.serial('a base image\'s layers are left as they are; a no-change rebuild is the same image; rewrite-timestamp=false and no epoch clamp nothing', async (t) => {
  const root = join(work, 'c');
  // busybox built without the epoch: its layers carry the build's own times
  await buildBusybox(root);
  const base = await localManifest(root, 'busybox');
  const build = (args: string[]) => runTsbuild(['build', '--progress', 'quiet', ...args, app], { root });

  const first = await build(['--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, '-t', 'app']);
  t.is(first.code, 0, first.stderr);
  const { manifest } = await localManifest(root, 'app');
  const store = join(root, 'content');
  t.deepEqual(manifest.layers.slice(0, base.manifest.layers.length).map((l) => l.digest), base.manifest.layers.map((l) => l.digest), 'the base layers are the base image\'s blobs');
  t.not(layerTimes(blobPath(store, manifest.layers[0].digest)).get('bin/'), clamped, 'a base layer keeps its times');
  const top = layerTimes(blobPath(store, manifest.layers.at(-1)!.digest));
  t.is(top.get('made/deep/f'), clamped);

  const again = await build(['--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, '-t', 'app']);
  t.is(again.stdout, first.stdout, 'a no-change rebuild gives the same image');

  const optOut = await build(['--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, '-o', 'type=image,name=kept,rewrite-timestamp=false']);
  t.is(optOut.code, 0, optOut.stderr);
  t.not(optOut.stdout, first.stdout);
  const keptTop = layerTimes(blobPath(store, (await localManifest(root, 'kept')).manifest.layers.at(-1)!.digest));
  t.true(keptTop.get('made/deep/f')! > clamped, 'rewrite-timestamp=false: the time the RUN wrote the file');

  const plain = await build(['-t', 'plain']);
  t.is(plain.code, 0, plain.stderr);
  const plainTop = layerTimes(blobPath(store, (await localManifest(root, 'plain')).manifest.layers.at(-1)!.digest));
  t.deepEqual(plainTop, keptTop, 'without the epoch the layer is the unclamped one');

  const bad = await build(['-o', 'type=image,name=x,rewrite-timestamp=maybe']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /rewrite-timestamp=maybe is not true or false/);
});

test.serial('tsbuild push of the stored image sends the clamped layers gzipped (their blob rows are found by digest)', async (t) => {
  const root = join(work, 'c');
  const registry = await startRegistry();
  try {
    const name = `${registry.host}/repro/app:1`;
    t.is((await runTsbuild(['tag', 'app', name], { root })).code, 0);
    const pushed = await runTsbuild(['push', name], { root });
    t.is(pushed.code, 0, pushed.stderr);
    const local = (await localManifest(root, 'app')).manifest;
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as Manifest;
    t.is(raw.config.digest, local.config.digest, 'the same image id');
    const top = raw.layers.at(-1)!;
    t.is(top.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const blob = join(work, 'pushed-top.tar.gz');
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${name}`, `oci:${join(work, 'pulled')}:1`]);
    const gz = readFileSync(blobPath(join(work, 'pulled'), top.digest));
    writeFileSync(blob, gz);
    t.is(`sha256:${createHash('sha256').update(gunzipSync(gz)).digest('hex')}`, local.layers.at(-1)!.digest, 'the gzip holds the clamped tar');
    t.is(layerTimes(blob).get('made/deep/f'), clamped);
  } finally {
    await registry.stop();
  }
});

test.serial('the clamped layers are counted by du, kept by prune with their tagged image\'s cache, and freed with their diff\'s cache', async (t) => {
  const root = join(work, 'd');
  await buildBusybox(root);
  const baseLayers = (await localManifest(root, 'busybox')).manifest.layers.length;
  const build = (args: string[]) => runTsbuild(['build', '--progress', 'plain', '--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, ...args, app], { root });
  const first = await build(['-t', 'app']);
  t.is(first.code, 0, first.stderr);
  const store = join(root, 'content');
  // the layers this build made, as the image names them: the clamped tars (uncompressed, as stored)
  const made = (await localManifest(root, 'app')).manifest.layers.slice(baseLayers).map((l) => l.digest);
  t.is(made.length, 2);
  for (const d of made) t.true(existsSync(blobPath(store, d)), d);
  const du = await runTsbuild(['du'], { root });
  t.is(du.code, 0, du.stderr);
  for (const d of made) t.regex(du.stdout, new RegExp(`^${d.slice(7, 32)} +false +(true|false) +\\d.* blob of app:latest$`, 'm'), 'listed with its size, held by the tag');

  // the tagged image's cache stays without --all, though its layers are the clamped blobs
  t.is((await runTsbuild(['prune', '-f'], { root })).code, 0);
  for (const d of made) t.true(existsSync(blobPath(store, d)), d);
  const again = await build(['-t', 'app']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /RUN mkdir -p \/made\/deep.*\n#\d+ CACHED/);

  // untagged, the cache goes with its clamped blobs at once (not an unreferenced blob left for the grace period)
  t.is((await runTsbuild(['rmi', 'app'], { root })).code, 0, 'rmi');
  const pruned = await runTsbuild(['prune', '-f'], { root });
  t.is(pruned.code, 0, pruned.stderr);
  for (const d of made) {
    t.false(existsSync(blobPath(store, d)), `${d} freed`);
    t.notRegex((await runTsbuild(['du'], { root })).stdout, new RegExp(`^${d.slice(7, 32)} `, 'm'));
  }
  // their records went too: the next build makes and stores them again, the same bytes
  const rebuilt = await build(['-t', 'app']);
  t.is(rebuilt.code, 0, rebuilt.stderr);
  t.deepEqual((await localManifest(root, 'app')).manifest.layers.slice(baseLayers).map((l) => l.digest), made);
  for (const d of made) t.true(existsSync(blobPath(store, d)), d);
});
