// An export that leaves the machine (here -o type=oci) makes a built layer's gzip in the same walk of
// its snapshot as the local store's uncompressed tar (worker/layer/layer-blob.ts keepUncompressed).
// What a user sees must not change: the local image is the same whether or not the build also
// exported, the archive's layer unpacks to that very tar, and a second export reuses the blob.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN seq 1 400000 > /t.txt && mkdir /d && echo hi > /d/f\n' });
const root = tempDir('tsbuild-root-');
const out = tempDir('tsbuild-out-');
const epoch = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000'];

test.before(async () => {
  await buildBusybox(root);
});
test.after.always(() => {
  for (const dir of [root, out, ctx]) removeDir(dir);
});

async function inspect(name: string): Promise<{ Id: string; Descriptor: { digest: string } }> {
  const r = await runTsbuild(['inspect', name], { root });
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { Id: string; Descriptor: { digest: string } }[])[0];
}

const storedBlob = (d: string) => readFileSync(join(root, 'content', 'blobs', 'sha256', d.slice('sha256:'.length)));

test('with -o type=oci the local image is the one a plain build stores, and the archive holds its tar gzipped', async (t) => {
  const tar = join(out, 'app.tar');
  const exported = await runTsbuild(['build', '--progress', 'quiet', ...epoch, '-o', 'type=image,name=app', '-o', `type=oci,dest=${tar}`, ctx], { root });
  t.is(exported.code, 0, exported.stderr);
  // the same build again without the export (every step cached): the same local image
  const plain = await runTsbuild(['build', '--progress', 'quiet', ...epoch, '-t', 'plain', ctx], { root });
  t.is(plain.code, 0, plain.stderr);
  const [a, b] = [await inspect('plain'), await inspect('app')];
  t.is(b.Id, a.Id, 'the same image id');
  t.is(b.Descriptor.digest, a.Descriptor.digest, 'the same manifest');
  const local = JSON.parse(storedBlob(b.Descriptor.digest).toString()) as { layers: { mediaType: string; digest: string }[] };
  t.is(local.layers.at(-1)!.mediaType, 'application/vnd.oci.image.layer.v1.tar', 'the local store keeps the layer uncompressed');

  // the archive's top layer is the gzip of that stored tar
  const layout = join(out, 'layout');
  mkdirSync(layout);
  execFileSync('tar', ['-xf', tar, '-C', layout]);
  const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice('sha256:'.length)));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString()) as { layers: { mediaType: string; digest: string }[] };
  const top = manifest.layers.at(-1)!;
  t.is(top.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.deepEqual(gunzipSync(blob(top.digest)), storedBlob(local.layers.at(-1)!.digest), 'the gzip holds the stored uncompressed tar');
  execFileSync('gzip', ['-t'], { input: blob(top.digest) });
  t.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'no ingest file left');

  // exported again (another dest), the gzip blob is reused: the same archive bytes
  const again = join(out, 'again.tar');
  const r = await runTsbuild(['build', '--progress', 'quiet', ...epoch, '-o', `type=oci,dest=${again}`, ctx], { root });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(readFileSync(again), readFileSync(tar), 'the same archive, byte for byte');
});
