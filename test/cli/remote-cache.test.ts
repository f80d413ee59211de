// The remote cache as CI uses it (docs/remote-cache.md): two empty state roots stand for two CI
// runners. Runner A builds a multi-stage project and exports its cache; runner B, with nothing but
// the cache, runs no step and makes the same image; a changed source file reruns only the steps
// from its COPY on; mode=min keeps only the final image's steps; a bad cache is a warning. Through
// a local OCI layout and a real docker-registry on 127.0.0.1.
import test from 'ava';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';
import { startRegistry, type TestRegistry } from '../_support/registry.ts';

const work = tempDir('tsbuild-rcache-');
const seed = join(work, 'seed');
const base = join(work, 'busybox.oci');
let registry: TestRegistry | undefined;
test.before(async () => {
  // one base for every runner, as a registry would give them: the busybox image as an OCI layout
  await buildBusybox(seed);
  const r = await runTsbuild(['build', '--progress', 'quiet', '--build-context', 'busybox-bin=/usr/bin', '-o', `type=oci,dest=${base},tar=false`, 'fixtures/busybox'], { root: seed });
  if (r.code !== 0) throw new Error(r.stderr);
});
test.after.always(async () => {
  await registry?.stop();
  removeDir(work);
});

const project = () => contextDir({
  Dockerfile: [
    'FROM busybox AS deps',
    'RUN echo deps > /deps.txt',
    'FROM busybox AS build',
    'COPY src/ /src/',
    'RUN cat /src/*.txt > /build.txt',
    'FROM busybox',
    'COPY --from=deps /deps.txt /app/',
    'COPY --from=build /build.txt /app/',
    'RUN ls /app > /app/list.txt',
    '',
  ].join('\n'),
  'src/a.txt': 'a\n',
  'src/b.txt': 'b\n',
});

let n = 0;
/** One build on a fresh root (a new runner) unless `root` is given. */
async function runner(ctx: string, args: string[], root = join(work, `runner-${n++}`)) {
  const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, ...args, ctx], { root });
  const m = /\((\d+) steps ran, (\d+) cached\)/.exec(r.stderr);
  return { ...r, root, ran: m ? Number(m[1]) : -1, cached: m ? Number(m[2]) : -1, id: /^Built (sha256:[0-9a-f]{12})/m.exec(r.stderr)?.[1] };
}

test.serial('type=local, mode=max: runner B runs nothing and makes the same image; a changed file reruns from its COPY on', async (t) => {
  const ctx = project();
  const cache = join(work, 'cache-max');
  try {
    const a = await runner(ctx, ['--cache-to', `type=local,dest=${cache},mode=max`, '-t', 'app']);
    t.is(a.code, 0, a.stderr);
    t.is(a.ran, 7); // FROM (its unpack) and six steps
    t.regex(a.stderr, /exporting cache to .*cache-max \(mode=max\)/);
    const b = await runner(ctx, ['--cache-from', `type=local,src=${cache}`, '-t', 'app']);
    t.is(b.code, 0, b.stderr);
    t.is(b.ran, 0, b.stderr);
    t.is(b.id, a.id);
    t.regex(b.stderr, /importing cache manifest from local:.*cache-max\n#\d+ [\d.]+ 7 cache records/);
    // only the final image's layers are fetched (to unpack and store it), never an intermediate stage's
    const got = /downloaded from cache local:.*\n#\d+ [\d.]+ (\d+) blobs, (\d+) bytes/.exec(b.stderr);
    t.truthy(got, b.stderr);
    t.true(Number(got![1]) >= 1 && Number(got![1]) <= 5, got![0]);
    const out = join(work, 'out-b');
    const files = await runner(ctx, ['--cache-from', `type=local,src=${cache}`, '-o', `type=local,dest=${out}`]);
    t.is(files.ran, 0);
    t.is(readFileSync(join(out, 'app', 'list.txt'), 'utf8'), 'build.txt\ndeps.txt\nlist.txt\n');

    writeFileSync(join(ctx, 'src', 'b.txt'), 'b changed\n');
    const c = await runner(ctx, ['--cache-from', `type=local,src=${cache}`]);
    t.is(c.code, 0, c.stderr);
    // COPY src/, the RUN on it, COPY --from=build and the last RUN; deps and its copy come from the cache
    t.is(c.ran, 4, c.stderr);
    // the miss is explained against the imported record of the same step, naming the file (issue 11)
    t.regex(c.stderr, /\[build 2\/3\] COPY src\/ \/src\/\n#\d+ cache miss: src\/b\.txt content changed \(since the build of [\d-]+ [\d:]+ in cache-from local:.*cache-max\)/);
    t.regex(c.stderr, /\[build 3\/3\] RUN cat \/src\/\*\.txt > \/build\.txt\n#\d+ cache miss: earlier step "\[build 2\/3\] COPY src\/ \/src\/" changed/);
    t.regex(c.stderr, /\[deps 2\/2\] RUN echo deps > \/deps\.txt\n#\d+ CACHED/);
  } finally {
    removeDir(ctx);
  }
});

test.serial('mode=min holds the final image\'s steps only: the final target hits, an intermediate stage runs', async (t) => {
  const ctx = project();
  const cache = join(work, 'cache-min');
  try {
    const a = await runner(ctx, ['--cache-to', `type=local,dest=${cache}`]);
    t.is(a.code, 0, a.stderr);
    const final = await runner(ctx, ['--cache-from', `type=local,src=${cache}`]);
    t.is(final.ran, 0, final.stderr);
    const build = await runner(ctx, ['--cache-from', `type=local,src=${cache}`, '--target', 'build']);
    t.is(build.code, 0, build.stderr);
    t.is(build.ran, 2, build.stderr);
    const maxCache = join(work, 'cache-max');
    const withMax = await runner(ctx, ['--cache-from', `type=local,src=${maxCache}`, '--target', 'deps']);
    t.is(withMax.ran, 0, withMax.stderr);
  } finally {
    removeDir(ctx);
  }
});

test.serial('a missing, foreign or damaged cache is a warning and the build goes on; a record whose blob is gone reruns its step', async (t) => {
  const ctx = project();
  try {
    const missing = await runner(ctx, ['--cache-from', `type=local,src=${join(work, 'nope')}`]);
    t.is(missing.code, 0, missing.stderr);
    t.regex(missing.stderr, /--cache-from local:.*nope: not used: .*holds no cache/);
    t.is(missing.ran, 7);
    const foreign = await runner(ctx, ['--cache-from', `type=local,src=${base}`]);
    t.is(foreign.code, 0, foreign.stderr);
    t.regex(foreign.stderr, /not used: .*holds no tsbuild cache manifest/);

    // remove the blob of the deps RUN's own layer: that record (and nothing else) is dropped
    const cache = join(work, 'cache-max');
    const index = JSON.parse(readFileSync(join(cache, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const blob = (d: string) => join(cache, 'blobs', 'sha256', d.slice(7));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as { records: { description: string; layers: number[] }[] };
    const deps = config.records.find((r) => r.description.includes('RUN echo deps'))!;
    rmSync(blob(manifest.layers[deps.layers.at(-1)!].digest));
    const damaged = await runner(ctx, ['--cache-from', `type=local,src=${cache}`, '--target', 'deps']);
    t.is(damaged.code, 0, damaged.stderr);
    t.regex(damaged.stderr, /\[deps 2\/2\] RUN echo deps > \/deps\.txt\n#\d+ DONE/);
    // the final image needs no deps layer: still fully cached
    const final = await runner(ctx, ['--cache-from', `type=local,src=${cache}`]);
    t.is(final.ran, 0, final.stderr);
  } finally {
    removeDir(ctx);
  }
});

test.serial('cache-mounts=true: RUN --mount=type=cache contents reach runner B, never a file holding a secret', async (t) => {
  const a = contextDir({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/cache,id=pkgs --mount=type=secret,id=tok,required=true sh -c "echo fetched > /cache/pkg.tgz; cat /run/secrets/tok > /cache/leaked; echo done > /done"\n' });
  const b = contextDir({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/cache,id=pkgs ls /cache > /seen\n' });
  const cache = join(work, 'cache-mounts');
  try {
    const env = { ...process.env, TOK: 's3cr3t-value-for-the-test' };
    const exported = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, '--secret', 'id=tok,env=TOK', '--cache-to', `type=local,dest=${cache},mode=max,cache-mounts=true`, a], { root: join(work, 'mounts-a'), env });
    t.is(exported.code, 0, exported.stderr);
    t.regex(exported.stderr, /cache mount "pkgs": leaked holds a secret's value: left out of the cache export/);
    const out = join(work, 'mounts-out');
    const r = await runner(b, ['--cache-from', `type=local,src=${cache}`, '-o', `type=local,dest=${out}`]);
    t.is(r.code, 0, r.stderr);
    t.is(readFileSync(join(out, 'seen'), 'utf8'), 'pkg.tgz\n');
    // no blob of the cache, decompressed, holds the secret's value
    const { readdirSync } = await import('node:fs');
    const { gunzipSync } = await import('node:zlib');
    const blobs = readdirSync(join(cache, 'blobs', 'sha256'));
    t.true(blobs.length > 0);
    for (const name of blobs) {
      const raw = readFileSync(join(cache, 'blobs', 'sha256', name));
      const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
      t.false(bytes.includes('s3cr3t-value-for-the-test'), name);
    }
  } finally {
    removeDir(a);
    removeDir(b);
  }
});

/** The registry's own account of a stretch of its access log: blob bytes it sent, and the requests. */
function served(lines: readonly string[], except = 'none') {
  const requests = lines.flatMap((l) => {
    const m = /"(\w+) (\S+) HTTP\/[\d.]+" (\d+) (\d+|-)/.exec(l);
    return m ? [{ method: m[1], path: m[2], status: Number(m[3]), bytes: m[4] === '-' ? 0 : Number(m[4]) }] : [];
  });
  const blobGets = requests.filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path) && !r.path.endsWith(except));
  return { requests, blobBytes: blobGets.reduce((n, r) => n + r.bytes, 0), blobGets: blobGets.length };
}

const downloads = (stderr: string) => {
  const m = /downloaded from cache .*\n#\d+ [\d.]+ (\d+) blobs, (\d+) bytes/.exec(stderr);
  return m ? { blobs: Number(m[1]), bytes: Number(m[2]) } : undefined;
};

test.serial('type=registry: runner B imports from a docker-registry, runs nothing, and pushes the same image digest', async (t) => {
  registry = await startRegistry({ accessLog: true });
  const ctx = project();
  const ref = `${registry.host}/team/app`;
  const manifest = async (repo: string, tag: string) => {
    const res = await fetch(`http://${registry!.host}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    return { digest: res.headers.get('docker-content-digest'), layers: res.ok ? ((await res.json()) as { layers: { digest: string; size: number }[] }).layers : [] };
  };
  try {
    const a = await runner(ctx, ['--cache-to', `type=registry,ref=${ref}:cache,mode=max`, '--push', '-t', `${ref}:a`]);
    t.is(a.code, 0, a.stderr);
    // issue 11: a push of a fully cached image to the same registry mounts its blobs across
    // repositories and downloads none (the registry's access log is the witness)
    const cacheConfig = ((await (await fetch(`http://${registry.host}/v2/team/app/manifests/cache`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { config: { digest: string } }).config.digest;
    const logged = registry.accessLog().length;
    const b = await runner(ctx, ['--cache-from', `${ref}:cache`, '--push', '-t', `${registry.host}/team/release:1`]);
    t.is(b.code, 0, b.stderr);
    t.is(b.ran, 0, b.stderr);
    // the cache's config (which every import reads) is the one blob it sends
    const seen = served(registry.accessLog().slice(logged), cacheConfig);
    t.is(seen.blobGets, 0, JSON.stringify(seen.requests));
    t.deepEqual(downloads(b.stderr), { blobs: 0, bytes: 0 });
    const mounts = seen.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v2/team/release/blobs/uploads/?mount=') && r.path.includes('from=team%2Fapp'));
    const released = await manifest('team/release', '1');
    t.is(released.digest, (await manifest('team/app', 'a')).digest);
    // every layer, and the image config runner A pushed beside the cache
    t.is(mounts.filter((r) => r.status === 201).length, released.layers.length + 1, JSON.stringify(seen.requests));
    t.false(seen.requests.some((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.path.includes('/blobs/'))), JSON.stringify(seen.requests));
    // the image's blobs are not here, so the local store does not name it: the build says so
    t.regex(b.stderr, /pushed .*team\/release:1 from the cache's layers; not stored locally \(tsbuild pull /);
    const images = await runTsbuild(['images'], { root: b.root });
    t.is(images.code, 0, images.stderr);
    t.notRegex(images.stdout, /team\/release/);
    // pushing where the cache is (the same repository) finds every blob there
    const same = await runner(ctx, ['--cache-from', `${ref}:cache`, '--push', '-t', `${ref}:b`]);
    t.is(same.code, 0, same.stderr);
    t.deepEqual(downloads(same.stderr), { blobs: 0, bytes: 0 });
    t.is((await manifest('team/app', 'b')).digest, released.digest);
    // a cache the registry cannot mount from (a CI cache directory): a blob the target lacks is fetched, then uploaded
    const fromDir = await runner(ctx, ['--cache-from', `type=local,src=${join(work, 'cache-max')}`, '--push', '-t', `${registry.host}/team/fromdir:1`]);
    t.is(fromDir.code, 0, fromDir.stderr);
    t.is(fromDir.ran, 0, fromDir.stderr);
    const pushed = await manifest('team/fromdir', '1');
    t.true(pushed.layers.length > 0);
    for (const l of pushed.layers) t.is((await fetch(`http://${registry.host}/v2/team/fromdir/blobs/${l.digest}`, { method: 'HEAD' })).status, 200);
    t.true(downloads(fromDir.stderr)!.blobs > 0, fromDir.stderr);
    // an output that needs the bytes fetches the final image's layers, and only those
    const before = registry.accessLog().length;
    const oci = await runner(ctx, ['--cache-from', `${ref}:cache`, '-o', `type=oci,dest=${join(work, 'b.oci.tar')}`]);
    t.is(oci.code, 0, oci.stderr);
    t.is(oci.ran, 0, oci.stderr);
    // (the base's layers came with the runner's busybox: the build context named it)
    const layout = (d: string) => join(base, 'blobs', 'sha256', d.slice(7));
    const baseManifest = JSON.parse(readFileSync(layout((JSON.parse(readFileSync(join(base, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0].digest), 'utf8')) as { layers: { digest: string }[] };
    const own = released.layers.filter((l) => !baseManifest.layers.some((b) => b.digest === l.digest));
    t.true(own.length >= 3 && own.length < released.layers.length);
    const finalBytes = own.reduce((n, l) => n + l.size, 0);
    t.deepEqual(downloads(oci.stderr), { blobs: own.length, bytes: finalBytes });
    t.is(served(registry.accessLog().slice(before), cacheConfig).blobBytes, finalBytes);
    // a changed file: the miss names it, from the listing the cache carries (fetched for this miss only)
    writeFileSync(join(ctx, 'src', 'a.txt'), 'a changed\n');
    const changed = await runner(ctx, ['--cache-from', `${ref}:cache`]);
    t.is(changed.code, 0, changed.stderr);
    t.regex(changed.stderr, /\[build 2\/3\] COPY src\/ \/src\/\n#\d+ cache miss: src\/a\.txt content changed \(since the build of [\d-]+ [\d:]+ in cache-from 127\.0\.0\.1:\d+\/team\/app:cache\)/);
    // type=inline: the pushed image carries its cache; another runner imports it from the image itself
    const inl = await runner(ctx, ['--cache-to', 'type=inline', '--push', '-t', `${ref}:inline`]);
    t.is(inl.code, 0, inl.stderr);
    const fromImage = await runner(ctx, ['--cache-from', `type=registry,ref=${ref}:inline`]);
    t.is(fromImage.code, 0, fromImage.stderr);
    t.is(fromImage.ran, 0, fromImage.stderr);
    t.regex(fromImage.stderr, /importing cache manifest from .*team\/app:inline\n#\d+ [\d.]+ 4 cache records/);
    const gone = await runner(ctx, ['--cache-from', `${ref}:nosuch`]);
    t.is(gone.code, 0, gone.stderr);
    t.regex(gone.stderr, /--cache-from .*team\/app:nosuch: not used/);
  } finally {
    removeDir(ctx);
  }
});

test.serial('type=registry behind htpasswd: the cache goes up and comes back with the credentials of $DOCKER_CONFIG', async (t) => {
  const creds = { username: 'ci', password: 'cache-s3cret' };
  const secured = await startRegistry({ basicAuth: creds });
  const ctx = project();
  const dockerConfig = join(work, 'docker-config');
  mkdirSync(dockerConfig, { recursive: true });
  writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } } }));
  const env = { DOCKER_CONFIG: dockerConfig };
  const ref = `${secured.host}/team/app:cache`;
  try {
    const build = (args: string[]) => runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, ...args, ctx], { root: join(work, `runner-${n++}`), env });
    const a = await build(['--cache-to', `type=registry,ref=${ref},mode=max`]);
    t.is(a.code, 0, a.stderr);
    t.notRegex(a.stderr, /the cache was not exported/);
    // pushed elsewhere on the same registry: mounted from the cache's repository with the same credentials
    const b = await build(['--cache-from', ref, '--push', '-t', `${secured.host}/team/release:1`]);
    t.is(b.code, 0, b.stderr);
    t.regex(b.stderr, /\(0 steps ran, 7 cached\)/);
    t.deepEqual(downloads(b.stderr), { blobs: 0, bytes: 0 });
    // without credentials the import is a warning, and the build runs its steps
    const anonymous = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, '--cache-from', ref, ctx], { root: join(work, `runner-${n++}`), env: { DOCKER_CONFIG: join(work, 'no-config') } });
    t.is(anonymous.code, 0, anonymous.stderr);
    t.regex(anonymous.stderr, /--cache-from .*team\/app:cache: not used: /);
    t.regex(anonymous.stderr, /\(7 steps ran, 0 cached\)/);
  } finally {
    await secured.stop();
    removeDir(ctx);
  }
});
