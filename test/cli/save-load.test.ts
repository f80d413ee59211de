// tsbuild save / load (issue 10): a docker archive that `docker load` takes (when Docker runs
// here), an OCI layout tar that skopeo and umoci read, both loaded into a fresh root and built
// FROM; a legacy docker archive; and hostile archives that must write nothing outside the store.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { probeDockerSync } from '../_support/oracle.ts';

const run = promisify(execFile);
const work = tempDir('tsbuild-save-load-');
const root = join(work, 'root');
let appId = '';

test.before(async () => {
  await buildBusybox(root);
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN echo saved > /proof.txt\nCMD ["cat", "/proof.txt"]\n' });
  try {
    const r = await runTsbuild(['build', '--progress', 'quiet', '-t', 'app:1', ctx], { root });
    if (r.code !== 0) throw new Error(r.stderr);
    appId = r.stdout.trim();
    await runTsbuild(['tag', 'app:1', 'example.com/team/app:2'], { root });
  } finally {
    removeDir(ctx);
  }
});
test.after.always(() => removeDir(work));

/** Builds FROM `from` in `r` and returns what /proof.txt holds. */
async function proofFrom(t: { is(a: unknown, b: unknown, m?: string): void }, r: string, from: string): Promise<string> {
  const ctx = contextDir({ Dockerfile: `FROM ${from}\nRUN cp /proof.txt /copied.txt\n` });
  const out = tempDir('tsbuild-save-load-out-');
  try {
    const b = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { root: r });
    t.is(b.code, 0, b.stderr);
    return readFileSync(join(out, 'copied.txt'), 'utf8');
  } finally {
    removeDir(ctx);
    removeDir(out);
  }
}

test('save writes a docker archive with every name given; load puts it in a fresh root under those names, FROM-able', async (t) => {
  const dest = join(work, 'app.tar');
  const s = await runTsbuild(['save', '-o', dest, 'app:1', 'example.com/team/app:2'], { root });
  t.is(s.code, 0, s.stderr);
  const info = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${dest}:app:1`])).stdout) as { Layers: string[] };
  t.is(info.Layers.length, 5);
  const fresh = join(work, 'fresh-docker');
  const l = await runTsbuild(['load', '-i', dest], { root: fresh });
  t.is(l.code, 0, l.stderr);
  t.is(l.stdout, 'Loaded image: app:1\nLoaded image: example.com/team/app:2\n');
  t.is((await runTsbuild(['images', '-q', '--no-trunc', 'app'], { root: fresh })).stdout, `${appId}\n`, 'the same image id');
  t.is(await proofFrom(t, fresh, 'example.com/team/app:2'), 'saved\n');
  // the same archive again: nothing new, the names stay
  t.is((await runTsbuild(['load', '-q', '-i', dest], { root: fresh })).code, 0);
});

test('save of several images writes each blob once; load brings them all back (both formats)', async (t) => {
  for (const format of ['docker', 'oci']) {
    const dest = join(work, `several-${format}.tar`);
    const s = await runTsbuild(['save', '--format', format, '-o', dest, 'app:1', 'busybox', 'example.com/team/app:2'], { root });
    t.is(s.code, 0, s.stderr);
    const names = (await run('tar', ['-tf', dest])).stdout.trim().split('\n');
    t.is(names.length, new Set(names).size, 'no entry twice');
    const fresh = join(work, `fresh-several-${format}`);
    const l = await runTsbuild(['load', '-i', dest], { root: fresh });
    t.is(l.code, 0, l.stderr);
    t.is(l.stdout, 'Loaded image: app:1\nLoaded image: example.com/team/app:2\nLoaded image: busybox:latest\n', format);
    t.is(await proofFrom(t, fresh, 'app:1'), 'saved\n');
  }
  const info = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${join(work, 'several-docker.tar')}:busybox:latest`])).stdout) as { Layers: string[] };
  t.is(info.Layers.length, 4);
});

test('save --format oci writes an OCI layout tar that skopeo and umoci read, and load takes it (also gzipped, also from stdin)', async (t) => {
  const dest = join(work, 'app-oci.tar');
  const s = await runTsbuild(['save', '--format', 'oci', '-o', dest, 'app:1'], { root });
  t.is(s.code, 0, s.stderr);
  const inspect = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${dest}:1`])).stdout) as { Created: string | null; Layers: string[] };
  t.truthy(inspect.Created);
  const dir = join(work, 'oci-dir');
  await run('tar', ['-xf', dest, '-C', (await run('mkdir', ['-p', dir]), dir)]);
  const bundle = join(work, 'bundle');
  await run('umoci', ['unpack', '--rootless', '--image', `${dir}:1`, bundle]);
  t.is(readFileSync(join(bundle, 'rootfs', 'proof.txt'), 'utf8'), 'saved\n');

  const gz = join(work, 'app-oci.tar.gz');
  writeFileSync(gz, gzipSync(readFileSync(dest)));
  const fresh = join(work, 'fresh-oci');
  const l = await runTsbuild(['load', '-i', gz], { root: fresh });
  t.is(l.code, 0, l.stderr);
  t.is(l.stdout, 'Loaded image: app:1\n');
  t.is(await proofFrom(t, fresh, 'app:1'), 'saved\n');

  // stdin, and save to stdout: `tsbuild save app:1 | tsbuild load`
  const viaPipe = join(work, 'fresh-pipe');
  const { stdout } = await run('sh', ['-c', `"${process.execPath}" bin/tsbuild.js --root "${root}" save app:1 | "${process.execPath}" bin/tsbuild.js --root "${viaPipe}" load`], { cwd: join(import.meta.dirname, '..', '..') });
  t.is(stdout, 'Loaded image: app:1\n');
});

const docker = probeDockerSync();
const dockerTest = docker.host ? test : test.skip;
dockerTest(`docker load takes tsbuild save's archive and runs it${docker.host ? '' : ` — skipped: ${docker.reason}`}`, async (t) => {
  const env = { ...process.env, DOCKER_HOST: docker.host! };
  const dest = join(work, 'for-docker.tar');
  const name = `tsbuild-save-test:${process.pid}`;
  t.is((await runTsbuild(['tag', 'app:1', name], { root })).code, 0);
  t.is((await runTsbuild(['save', '-o', dest, name], { root })).code, 0);
  const { stdout } = await run('/usr/bin/docker', ['load', '-i', dest], { env });
  t.teardown(() => run('/usr/bin/docker', ['rmi', '-f', name], { env }).catch(() => {}));
  t.regex(stdout, new RegExp(`Loaded image: ${name}`));
  const inspected = JSON.parse((await run('/usr/bin/docker', ['image', 'inspect', name], { env })).stdout)[0] as { Id: string };
  t.is(inspected.Id, appId);
  const ran = await run('/usr/bin/docker', ['run', '--rm', name], { env });
  t.is(ran.stdout, 'saved\n');
});

/** A tar of `entries` (regular files unless a link is given). */
async function tarOf(entries: { name: string; body?: Buffer | string; linkname?: string; type?: 'symlink' | 'link' }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((res) => pack.on('end', () => res()));
  for (const e of entries) {
    if (e.type) pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else pack.entry({ name: e.name }, e.body ?? '');
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('a legacy docker archive (<id>/layer.tar, a layer linked to its first copy) loads and builds', async (t) => {
  const layer = await tarOf([{ name: 'proof.txt', body: 'legacy\n' }, { name: 'bin/' }]);
  const busybox = JSON.parse((await runTsbuild(['inspect', 'busybox'], { root })).stdout)[0] as { Id: string };
  t.truthy(busybox.Id);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha(layer), sha(layer)] }, history: [{ created_by: 'one' }, { created_by: 'two' }] });
  const configName = `${sha(config).slice(7)}.json`;
  const archive = await tarOf([
    { name: 'aaaa/layer.tar', body: layer },
    { name: 'bbbb/layer.tar', type: 'symlink', linkname: '../aaaa/layer.tar' },
    { name: configName, body: config },
    { name: 'manifest.json', body: JSON.stringify([{ Config: configName, RepoTags: ['legacy:1'], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] }]) },
  ]);
  const path = join(work, 'legacy.tar');
  writeFileSync(path, archive);
  const fresh = join(work, 'fresh-legacy');
  const l = await runTsbuild(['load', '-i', path], { root: fresh });
  t.is(l.code, 0, l.stderr);
  t.is(l.stdout, 'Loaded image: legacy:1\n');
  const inspected = JSON.parse((await runTsbuild(['inspect', 'legacy:1'], { root: fresh })).stdout)[0] as { Id: string; RootFS: { Layers: string[] } };
  t.is(inspected.Id, sha(config));
  t.deepEqual(inspected.RootFS.Layers, [sha(layer), sha(layer)]);
  // the layer has no shell: build with COPY --from instead
  const ctx = contextDir({ Dockerfile: 'FROM scratch\nCOPY --from=legacy:1 /proof.txt /p.txt\n' });
  const out = tempDir('tsbuild-save-load-out-');
  try {
    const b = await runTsbuild(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { root: fresh });
    t.is(b.code, 0, b.stderr);
    t.is(readFileSync(join(out, 'p.txt'), 'utf8'), 'legacy\n');
  } finally {
    removeDir(ctx);
    removeDir(out);
  }
});

test('hostile archives are refused with a clear error and write nothing outside the store', async (t) => {
  const fresh = join(work, 'fresh-hostile');
  const victim = join(work, 'victim.txt');
  const cases: { name: string; entries: Parameters<typeof tarOf>[0]; error: RegExp }[] = [
    { name: 'escape', entries: [{ name: `../../../../../../..${victim}`, body: 'pwned' }], error: /entry ".*victim\.txt" leads outside the archive/ },
    { name: 'absolute', entries: [{ name: victim, body: 'pwned' }, { name: 'manifest.json', body: '[]' }], error: /leads outside the archive/ },
    { name: 'lying blob', entries: [{ name: `blobs/sha256/${'0'.repeat(64)}`, body: 'not that' }, { name: 'index.json', body: '{}' }], error: /does not hold the content its name says/ },
    { name: 'link out', entries: [{ name: 'layer.tar', type: 'symlink', linkname: '../../../../etc/passwd' }, { name: 'manifest.json', body: '[]' }], error: /leads outside the archive/ },
    { name: 'missing layer', entries: [{ name: 'c.json', body: JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha('x')] } }) }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['h:1'], Layers: ['nope/layer.tar'] }]) }], error: /layer "nope\/layer\.tar" is not in the archive/ },
    { name: 'not json', entries: [{ name: 'manifest.json', body: '{{{' }], error: /manifest\.json is not valid JSON/ },
    { name: 'empty', entries: [{ name: 'hello.txt', body: 'hi' }], error: /neither index\.json \(an OCI layout\) nor manifest\.json/ },
    // bounds (a 2 MB archive of 500 entries with 4 MiB PAX names exhausted the heap; index.json
    // listing one manifest 48,000 times beside a manifest.json of 550,000 entries ran for an hour)
    { name: 'long name', entries: [{ name: `${'x/'.repeat(2500)}f`, body: 'a' }, { name: 'manifest.json', body: '[]' }], error: /an entry's name or link target is longer than 4096 bytes/ },
    { name: 'many images', entries: [{ name: 'manifest.json', body: JSON.stringify(Array(1001).fill({ Config: 'c' })) }], error: /manifest\.json lists 1001 images, more than the 1000 one archive may hold/ },
    { name: 'many manifests', entries: [{ name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: Array(1001).fill({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 }) }) }], error: /index\.json lists 1001 manifests, more than the 1000 one archive may hold/ },
    { name: 'bad name', entries: [{ name: 'c.json', body: JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } }) }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['../../x'], Layers: [] }]) }], error: /invalid image reference "\.\.\/\.\.\/x"/ },
  ];
  for (const c of cases) {
    const path = join(work, `${c.name}.tar`);
    writeFileSync(path, await tarOf(c.entries));
    const r = await runTsbuild(['load', '-i', path], { root: fresh });
    t.is(r.code, 1, c.name);
    t.regex(r.stderr, c.error, c.name);
    t.notRegex(r.stderr, /^\s+at |internal error/im, c.name);
  }
  writeFileSync(join(work, 'garbage.tar'), Buffer.alloc(2048, 7));
  const garbage = await runTsbuild(['load', '-i', join(work, 'garbage.tar')], { root: fresh });
  t.is(garbage.code, 1);
  t.regex(garbage.stderr, /cannot load .*garbage\.tar/);
  t.false(existsSync(victim));
  t.is((await runTsbuild(['images', '-a', '-q'], { root: fresh })).stdout, '', 'nothing was named');
  const missing = await runTsbuild(['load', '-i', join(work, 'nope.tar')], { root: fresh });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot read .*nope\.tar/);
});

test('save --format oci of an image stored as an index (annotation-index) keeps the index\'s annotations in index.json', async (t) => {
  const ctx = contextDir({ Dockerfile: 'FROM busybox\nLABEL kept=index\n' });
  t.teardown(() => removeDir(ctx));
  const b = await runTsbuild(['build', '--progress', 'quiet', '-o', 'type=image,name=idx:1,annotation-index.org.example.note=kept', ctx], { root });
  t.is(b.code, 0, b.stderr);
  const tar = join(work, 'idx-oci.tar');
  t.is((await runTsbuild(['save', '--format', 'oci', '-o', tar, 'idx:1'], { root })).code, 0);
  const index = JSON.parse((await run('tar', ['-xOf', tar, 'index.json'])).stdout) as { annotations?: Record<string, string> };
  t.deepEqual(index.annotations, { 'org.example.note': 'kept' });
});
