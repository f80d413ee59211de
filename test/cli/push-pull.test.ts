// tsbuild push / pull (issue 10) against a real docker-registry on 127.0.0.1: push a stored image,
// pull it into a fresh root, build FROM it; pull by digest; the errors a user meets.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { makeOciLayout, pushToRegistry, startRegistry, type TestRegistry } from '../_support/registry.ts';

const work = tempDir('tsbuild-push-pull-');
const root = join(work, 'root');
let registry: TestRegistry;

test.before(async () => {
  registry = await startRegistry();
  await buildBusybox(root);
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
});

test('pulls of one image into one root at once each finish and exit', async (t) => {
  // each fetched a blob another had stored meanwhile and left its body unread: the connection it
  // held kept the process alive after it had printed its result (most tries hung)
  const name = `${registry.host}/team/together:1`;
  t.is((await runTsbuild(['tag', 'busybox', name], { root })).code, 0);
  t.is((await runTsbuild(['push', '-q', name], { root })).code, 0);
  for (let round = 0; round < 2; round++) {
    const shared = join(work, `together-${round}`);
    const pulls = await Promise.all([0, 1, 2].map(() => runTsbuild(['pull', '-q', name], { root: shared, timeoutMs: 60_000 })));
    for (const p of pulls) t.deepEqual([p.code, p.stdout], [0, `${name}\n`], p.stderr);
    t.is((await runTsbuild(['images', '-q'], { root: shared })).stdout.trim().split('\n').length, 1);
  }
});

test('push sends a stored image; pull brings it into a fresh root under its name; FROM builds on it', async (t) => {
  const name = `${registry.host}/team/bb:1`;
  t.is((await runTsbuild(['tag', 'busybox', name], { root })).code, 0);
  const pushed = await runTsbuild(['push', name], { root });
  t.is(pushed.code, 0, pushed.stderr);
  const m = new RegExp(`^The push refers to repository \\[${registry.host}/team/bb\\]\\n1: digest: (sha256:[0-9a-f]{64}) size: (\\d+)\\n$`).exec(pushed.stdout);
  t.truthy(m, pushed.stdout);
  const remote = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Digest: string };
  t.is(remote.Digest, m![1]);
  const local = JSON.parse((await runTsbuild(['inspect', name], { root })).stdout)[0] as { Id: string };
  // gzip layers, as docker push sends them, of the same image (the store keeps them as tars)
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { config: { digest: string }; layers: { mediaType: string }[] };
  t.true(raw.layers.length > 0);
  for (const l of raw.layers) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.is(raw.config.digest, local.Id);
  // pushing again sends nothing new and says the same, and compresses nothing again
  const blobs = () => readdirSync(join(root, 'content', 'blobs', 'sha256')).sort();
  const before = blobs();
  t.is((await runTsbuild(['push', name], { root })).stdout, pushed.stdout);
  t.deepEqual(blobs(), before);

  const fresh = join(work, 'fresh');
  const pulled = await runTsbuild(['pull', name], { root: fresh });
  t.is(pulled.code, 0, pulled.stderr);
  t.is(pulled.stdout, `Digest: ${m![1]}\nStatus: Downloaded newer image for ${name}\n${name}\n`);
  const again = await runTsbuild(['image', 'pull', '-q', name], { root: fresh });
  t.is(again.stdout, `${name}\n`);
  t.is((await runTsbuild(['pull', name], { root: fresh })).stdout, `Digest: ${m![1]}\nStatus: Image is up to date for ${name}\n${name}\n`);
  const rows = (await runTsbuild(['images', '--format', 'json'], { root: fresh })).stdout.trim().split('\n').map((l) => JSON.parse(l) as { Repository: string; Tag: string; ID: string });
  t.deepEqual(rows.map((r) => [r.Repository, r.Tag, r.ID]), [[`${registry.host}/team/bb`, '1', local.Id.slice(7, 19)]]);
  // one image, one size: its layers unpacked, whether stored as tars (built) or gzip (pulled)
  const sizes = async (r: string) => [(await runTsbuild(['inspect', '--format', '{{.Size}}', name], { root: r })).stdout, (await runTsbuild(['history', '--format', '{{.Size}}', name], { root: r })).stdout];
  t.deepEqual(await sizes(fresh), await sizes(root));

  const ctx = contextDir({ Dockerfile: `FROM ${name}\nRUN echo on-pulled > /p.txt\n` });
  const out = tempDir('tsbuild-push-pull-out-');
  try {
    const b = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { root: fresh });
    t.is(b.code, 0, b.stderr);
    t.is(readFileSync(join(out, 'p.txt'), 'utf8'), 'on-pulled\n');
  } finally {
    removeDir(ctx);
    removeDir(out);
  }

  // by digest: stored without a name (dangling), as docker keeps it
  const byDigest = join(work, 'by-digest');
  const d = await runTsbuild(['pull', `${registry.host}/team/bb@${m![1]}`], { root: byDigest });
  t.is(d.code, 0, d.stderr);
  t.is((await runTsbuild(['images', '-a', '-q', '--no-trunc'], { root: byDigest })).stdout, `${local.Id}\n`);
});

test('pull and push errors name the image, without a stack', async (t) => {
  const missing = await runTsbuild(['pull', `${registry.host}/team/nothing:1`], { root: join(work, 'errors') });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /nothing:1.*not found/);
  t.notRegex(missing.stderr, /^\s+at /m);
  const digestPush = await runTsbuild(['push', `${registry.host}/team/bb@sha256:${'0'.repeat(64)}`], { root });
  t.is(digestPush.code, 1);
  t.regex(digestPush.stderr, /push takes a name with a tag, not a digest/);
  const id = JSON.parse((await runTsbuild(['inspect', 'busybox'], { root })).stdout)[0] as { Id: string };
  const byId = await runTsbuild(['push', id.Id.slice(7, 19)], { root });
  t.is(byId.code, 1);
  t.regex(byId.stderr, /cannot push ([0-9a-f]{12}): that is an image id; push takes the name of a stored image, which says where it goes\nhint: name it first: tsbuild tag \1 REGISTRY\/NAME:TAG/);
  t.notRegex((await runTsbuild(['images'], { root })).stdout, /^[0-9a-f]{12} /m, 'no image is named after an id');
  const badPlatform = await runTsbuild(['pull', '--platform', 'nonsense', 'busybox'], { root: join(work, 'errors') });
  t.is(badPlatform.code, 1);
  t.notRegex(badPlatform.stderr, /^\s+at /m);
});

// serial (so before the others): its build writes blobs into the root the first test counts
test.serial('push of a stored index (annotation-index) sends an index of gzip manifests, the image id kept', async (t) => {
  const name = `${registry.host}/team/indexed:1`;
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo indexed > /i.txt\n' });
  try {
    const b = await runTsbuild(['build', '--progress', 'plain', '-o', `type=image,name=${name},annotation-index.org.opencontainers.image.vendor=acme`, ctx], { root });
    t.is(b.code, 0, b.stderr);
  } finally {
    removeDir(ctx);
  }
  const pushed = await runTsbuild(['push', '-q', name], { root });
  t.is(pushed.code, 0, pushed.stderr);
  const raw = (ref: string) => JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as { mediaType: string; annotations?: Record<string, string>; manifests?: { digest: string; platform?: { architecture: string } }[]; layers?: { mediaType: string }[]; config?: { digest: string } };
  const index = raw(name);
  t.is(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.is(index.annotations?.['org.opencontainers.image.vendor'], 'acme');
  t.is(index.manifests?.length, 1);
  t.truthy(index.manifests![0].platform?.architecture);
  const manifest = raw(`${registry.host}/team/indexed@${index.manifests![0].digest}`);
  t.true((manifest.layers ?? []).length > 0);
  for (const l of manifest.layers ?? []) t.is(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const local = JSON.parse((await runTsbuild(['inspect', name], { root })).stdout)[0] as { Id: string };
  t.is(manifest.config?.digest, local.Id);
});

const skopeoDigest = (name: string) => (JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Digest: string }).Digest;

test('after a push, RepoDigests, images --digests and --metadata-file give the digest the registry has', async (t) => {
  // the store keeps built layers as tars and pushes gzip: the registry's manifest is another one
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo pushed > /p.txt\n' });
  const meta = join(work, 'meta.json');
  try {
    const built = `${registry.host}/team/digests:1`;
    const b = await runTsbuild(['build', '--progress', 'quiet', '--push', '-t', built, '--metadata-file', meta, ctx], { root });
    t.is(b.code, 0, b.stderr);
    const remote = skopeoDigest(built);
    t.is((JSON.parse(readFileSync(meta, 'utf8')) as Record<string, string>)['containerimage.digest'], remote);
    const inspected = JSON.parse((await runTsbuild(['inspect', built], { root })).stdout)[0] as { RepoDigests: string[] };
    t.deepEqual(inspected.RepoDigests, [`${registry.host}/team/digests@${remote}`]);
    const row = JSON.parse((await runTsbuild(['images', '--format', 'json', built], { root })).stdout.trim()) as { Digest: string };
    t.is(row.Digest, remote);
    // that digest pulls
    const fresh = join(work, 'by-repo-digest');
    t.is((await runTsbuild(['pull', '-q', inspected.RepoDigests[0]], { root: fresh })).code, 0);

    // tsbuild push: the same, under the other repository too
    const other = `${registry.host}/team/other:2`;
    t.is((await runTsbuild(['tag', built, other], { root })).code, 0);
    const pushed = await runTsbuild(['push', other], { root });
    const printed = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    t.is(printed, skopeoDigest(other));
    const again = JSON.parse((await runTsbuild(['inspect', other], { root })).stdout)[0] as { RepoDigests: string[] };
    t.deepEqual([...again.RepoDigests].sort(), [`${registry.host}/team/digests@${remote}`, `${registry.host}/team/other@${printed}`].sort());
  } finally {
    removeDir(ctx);
  }
});

test('a multi-platform image: pull prints and records the index digest; a pull by digest already held is up to date', async (t) => {
  const layout = await makeOciLayout(join(work, 'multi'), { layers: [{ 'm.txt': 'm\n' }], tag: '1', platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
  const name = `${registry.host}/team/multi:1`;
  await pushToRegistry(`oci:${layout.dir}:1`, name, { all: true });
  const fresh = join(work, 'multi-root');
  const pulled = await runTsbuild(['pull', name], { root: fresh });
  t.is(pulled.code, 0, pulled.stderr);
  t.is(pulled.stdout.split('\n')[0], `Digest: ${layout.digest}`);
  const inspected = JSON.parse((await runTsbuild(['inspect', name], { root: fresh })).stdout)[0] as { RepoDigests: string[]; Id: string };
  t.deepEqual(inspected.RepoDigests, [`${registry.host}/team/multi@${layout.digest}`]);
  t.is(inspected.Id, layout.manifests[0].configDigest);
  const byDigest = `${registry.host}/team/multi@${layout.manifests[0].digest}`;
  const first = await runTsbuild(['pull', byDigest], { root: join(work, 'multi-digest') });
  t.regex(first.stdout, /Status: Downloaded newer image/);
  const second = await runTsbuild(['pull', byDigest], { root: join(work, 'multi-digest') });
  t.regex(second.stdout, /Status: Image is up to date/);
});

test('one image stored under several manifests is one image: one <none> row at most, and rmi of its id removes every copy', async (t) => {
  const r = join(work, 'copies');
  await buildBusybox(r);
  const archive = (format: string) => join(work, `copies-${format}.tar`);
  for (const format of ['docker', 'oci']) t.is((await runTsbuild(['save', '--format', format, '-o', archive(format), 'busybox'], { root })).code, 0);
  // the docker archive holds gzip-less tars, the OCI one gzip layers: two manifests of one config
  t.is((await runTsbuild(['load', '-i', archive('oci')], { root: r })).code, 0);
  t.is((await runTsbuild(['load', '-i', archive('docker')], { root: r })).code, 0);
  const ids = (await runTsbuild(['images', '-a', '-q'], { root: r })).stdout.trim().split('\n');
  t.deepEqual(ids, [ids[0]], 'one row: busybox; its other copies are no <none> rows');
  const removed = await runTsbuild(['rmi', '-f', ids[0]], { root: r });
  t.is(removed.code, 0, removed.stderr);
  t.is((await runTsbuild(['images', '-a', '-q'], { root: r })).stdout, '');
  t.is((await runTsbuild(['inspect', ids[0]], { root: r })).code, 1);
});
