// A remote cache (--cache-from type=registry) served by a hostile registry: the cache a real build
// exported, then changed one part at a time and served from a node:http server on 127.0.0.1. Each
// change must end in a warning or a step that runs, never a wrong result, a junk blob kept in the
// store, or memory spent on what the cache claims.
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { buildBusybox, contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const work = tempDir('tsbuild-hostile-cache-');
const seed = join(work, 'seed');
const base = join(work, 'busybox.oci');
const cacheDir = join(work, 'cache');
const project = contextDir({ Dockerfile: 'FROM busybox\nRUN echo one > /one.txt\nRUN echo two > /two.txt\n' });

interface Manifest {
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
}
let honest: { manifest: Manifest; blobs: Map<string, Buffer> };

test.before(async () => {
  await buildBusybox(seed);
  const r = await runTsbuild(['build', '--progress', 'quiet', '--build-context', 'busybox-bin=/usr/bin', '-o', `type=oci,dest=${base},tar=false`, 'fixtures/busybox'], { root: seed });
  if (r.code !== 0) throw new Error(r.stderr);
  const a = await build(join(work, 'runner-a'), ['--cache-to', `type=local,dest=${cacheDir},mode=max`]);
  if (a.code !== 0) throw new Error(a.stderr);
  const blobs = new Map<string, Buffer>();
  for (const f of readdirSync(join(cacheDir, 'blobs', 'sha256'))) blobs.set(`sha256:${f}`, readFileSync(join(cacheDir, 'blobs', 'sha256', f)));
  const index = JSON.parse(readFileSync(join(cacheDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = [...index.manifests].map((d) => JSON.parse(blobs.get(d.digest)!.toString()) as Manifest).find((m) => m.config.mediaType.includes('tsbuild.cache'))!;
  honest = { manifest, blobs };
});
test.after.always(() => {
  removeDir(work);
  removeDir(project);
});

let n = 0;
function build(root: string, args: string[]) {
  return runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, ...args, project], { root });
}

/** Serves `manifest` for every manifest request and `blob(digest, res)` (else the honest blob) for blobs; counts what it sent. */
async function serveCache(t: { teardown(fn: () => void): void }, manifest: unknown, blob?: (digest: string, res: ServerResponse, head: boolean) => boolean, extra = new Map<string, Buffer>()) {
  const sent = new Map<string, number>();
  const bytes = Buffer.from(JSON.stringify(manifest));
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const head = req.method === 'HEAD';
    if (url === '/v2/' || url === '/v2') return void res.writeHead(200).end('{}');
    if (/\/manifests\//.test(url)) {
      return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': bytes.length, 'docker-content-digest': sha256(bytes) }).end(head ? undefined : bytes);
    }
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url)?.[1];
    if (digest && blob?.(digest, res, head)) return;
    const body = digest ? (extra.get(digest) ?? honest.blobs.get(digest)) : undefined;
    if (!body) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
    if (!head) sent.set(digest!, (sent.get(digest!) ?? 0) + body.length);
    res.writeHead(200, { 'content-length': body.length }).end(head ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { ref: `127.0.0.1:${(server.address() as AddressInfo).port}/team/cache:1`, sent };
}

const steps = (stderr: string) => /\((\d+) steps ran, (\d+) cached\)/.exec(stderr)?.slice(1).map(Number);

/** Bytes under `dir`, every file. */
function du(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

test.serial('the honest cache served this way: every step from it (the baseline the others change)', async (t) => {
  const reg = await serveCache(t, honest.manifest);
  const r = await build(join(work, `runner-${n++}`), ['--cache-from', reg.ref]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(steps(r.stderr), [0, 3], r.stderr);
});

test.serial('a 200 MB cache config (valid JSON, its digest right) is refused by its size, before a byte of it is fetched', async (t) => {
  const big = Buffer.alloc(200 << 20, ' ');
  Buffer.from('{"version":1,"records":[]}').copy(big);
  const configDigest = sha256(big);
  const manifest = { ...honest.manifest, config: { ...honest.manifest.config, digest: configDigest, size: big.length } };
  const reg = await serveCache(t, manifest, (digest, res, head) => {
    if (digest !== configDigest) return false;
    res.writeHead(200, { 'content-length': big.length }).end(head ? undefined : big);
    reg.sent.set(digest, big.length);
    return true;
  });
  const root = join(work, `runner-${n++}`);
  const r = await build(root, ['--cache-from', reg.ref]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /--cache-from 127\.0\.0\.1:\d+\/team\/cache:1: not used: .*"config\.size" 209715200 bytes is over the 67108864 bytes \(64 MiB\) a config may have/);
  t.deepEqual(steps(r.stderr), [3, 0], r.stderr);
  t.false(reg.sent.has(configDigest), 'the config was not downloaded');
  t.true(du(join(root, 'content')) < 50 << 20, 'no 200 MB blob kept');
});

/** The honest manifest with its config changed by `change`: the manifest and the new config blob. */
function withConfig(change: (c: { version: number; records: { key: string; layers: number[] }[] }) => unknown): { manifest: Manifest; extra: Map<string, Buffer> } {
  const config = JSON.parse(honest.blobs.get(honest.manifest.config.digest)!.toString()) as { version: number; records: { key: string; layers: number[] }[] };
  const bytes = Buffer.from(JSON.stringify(change(config)));
  return { manifest: { ...honest.manifest, config: { ...honest.manifest.config, digest: sha256(bytes), size: bytes.length } }, extra: new Map([[sha256(bytes), bytes]]) };
}

const layerDigests = () => honest.manifest.layers.filter((l) => l.annotations?.['dev.tsbuild.cache.diffid']).map((l) => l.digest);

test.serial('layer blobs whose bytes are not their digest: nothing of them is stored, and the build says what failed', async (t) => {
  const wrong = new Set(layerDigests());
  const reg = await serveCache(t, honest.manifest, (digest, res, head) => {
    if (!wrong.has(digest)) return false;
    const junk = Buffer.alloc(honest.blobs.get(digest)!.length, 'x');
    res.writeHead(200, { 'content-length': junk.length }).end(head ? undefined : junk);
    return true;
  });
  const root = join(work, `runner-${n++}`);
  const r = await build(root, ['--cache-from', reg.ref]);
  t.is(r.code, 1, r.stderr);
  t.notRegex(r.stderr, /internal error|This is a bug|^\s+at /m);
  t.regex(r.stderr, /ERROR: Dockerfile:\d+: .*--cache-from 127\.0\.0\.1:\d+\/team\/cache:1: blob sha256:[0-9a-f]{64}: content has digest sha256:[0-9a-f]{64}/);
  t.regex(r.stderr, /hint: the cache is damaged: build without this --cache-from/);
  // whatever was stored is what its name says
  const stored = readdirSync(join(root, 'content', 'blobs', 'sha256')).map((f) => `sha256:${f}`);
  for (const d of stored) t.is(sha256(readFileSync(join(root, 'content', 'blobs', 'sha256', d.slice(7)))), d);
  t.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'no partial download left');
});

test.serial('a layer whose diffID annotation is wrong: the step is not taken from it, and nothing is stored under that diffID', async (t) => {
  const target = honest.manifest.layers.filter((l) => l.annotations?.['dev.tsbuild.cache.diffid']).at(-1)!;
  const lie = sha256('not this layer');
  const manifest = { ...honest.manifest, layers: honest.manifest.layers.map((l) => (l === target ? { ...l, annotations: { ...l.annotations, 'dev.tsbuild.cache.diffid': lie } } : l)) };
  const reg = await serveCache(t, manifest);
  const root = join(work, `runner-${n++}`);
  const r = await build(root, ['--cache-from', reg.ref]);
  t.is(r.code, 1, r.stderr);
  t.notRegex(r.stderr, /internal error|This is a bug|^\s+at /m);
  t.regex(r.stderr, new RegExp(`ERROR: Dockerfile:3: .*layer ${target.digest}: uncompressed digest sha256:[0-9a-f]{64}, the cache entry says ${lie}`));
  // the local cache holds no entry under the lie: a build without the import runs the step
  const again = await build(root, []);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /\[3\/3\] RUN echo two > \/two\.txt\n#\d+ DONE/);
});

test.serial('records naming millions of layers are refused as a damaged cache, quickly', async (t) => {
  const { manifest, extra } = withConfig((c) => ({ ...c, records: [...c.records, ...Array.from({ length: 12 }, (_, i) => ({ ...c.records[0], key: sha256(`r${i}`), layers: new Array<number>(100_000).fill(0) }))] }));
  const reg = await serveCache(t, manifest, undefined, extra);
  const started = Date.now();
  const r = await build(join(work, `runner-${n++}`), ['--cache-from', reg.ref]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /not used: .*its records name more than 1048576 layers in all/);
  t.true(Date.now() - started < 30_000);
});

test.serial('records naming layers the manifest lacks, or blobs the registry lacks, are dropped: those steps run', async (t) => {
  const gone = layerDigests().at(-1)!;
  const { manifest, extra } = withConfig((c) => ({ ...c, records: c.records.map((r, i) => (i === 0 ? { ...r, layers: [...r.layers, 999] } : r)) }));
  const reg = await serveCache(t, manifest, (digest, res) => {
    if (digest !== gone) return false;
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
    return true;
  }, extra);
  const r = await build(join(work, `runner-${n++}`), ['--cache-from', reg.ref]);
  t.is(r.code, 0, r.stderr);
  const [ran] = steps(r.stderr) ?? [-1];
  t.true(ran >= 1, r.stderr);
});

test.serial('an index naming itself, and a manifest of 3,000 layers the records all name: a warning or a bounded import, no loop', async (t) => {
  const self = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] as unknown[] };
  // the crafted server answers every manifest request with this index: the platform's entry is the index again
  self.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256('x'), size: 1, platform: { os: 'linux', architecture: 'amd64' } });
  const loop = await serveCache(t, self);
  const r = await build(join(work, `runner-${n++}`), ['--cache-from', loop.ref]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /--cache-from .*team\/cache:1: not used: /);

  const many = Array.from({ length: 3_000 }, (_, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(`layer ${i}`), size: 10, annotations: { 'dev.tsbuild.cache.diffid': sha256(`diff ${i}`) } }));
  const { manifest, extra } = withConfig((c) => ({ ...c, records: [...c.records, ...Array.from({ length: 6 }, (_, i) => ({ ...c.records[0], key: sha256(`k${i}`), layers: Array.from({ length: 500 }, (_, j) => honest.manifest.layers.length + i * 500 + j) }))] }));
  const big = { ...manifest, layers: [...manifest.layers, ...many] };
  const reg = await serveCache(t, big, (digest, res) => {
    if (!many.some((l) => l.digest === digest)) return false;
    res.writeHead(404).end();
    return true;
  }, extra);
  const started = Date.now();
  const b = await build(join(work, `runner-${n++}`), ['--cache-from', reg.ref]);
  t.is(b.code, 0, b.stderr);
  t.deepEqual(steps(b.stderr), [0, 3], b.stderr);
  t.log(`3,000 layers: ${Date.now() - started} ms`);
  t.true(Date.now() - started < 30_000);
});

test.serial('a registry that never answers the blob HEADs of the import: aborted as a stall, a warning, the build goes on', async (t) => {
  const mute = new Set(layerDigests());
  const reg = await serveCache(t, honest.manifest, (digest, _res, head) => head && mute.has(digest)); // taken, never answered
  const started = Date.now();
  const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, '--cache-from', reg.ref, project], { root: join(work, `runner-${n++}`), env: { TSBUILD_REGISTRY_STALL_TIMEOUT: '1' } });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /--cache-from .*team\/cache:1: not used: .*the registry sent nothing for 1 s, the transfer stalled/);
  t.deepEqual(steps(r.stderr), [3, 0], r.stderr);
  t.true(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

test.serial('a cache mount whose tar climbs out (.., absolute names, links to the host) is refused, nothing written outside', async (t) => {
  const outside = tempDir('tsbuild-hostile-outside-');
  mkdirSync(join(outside, 'dir'));
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  t.teardown(() => removeDir(outside));
  type Entry = [Record<string, unknown>, string?];
  const variants: Record<string, Entry[]> = {
    '..': [[{ name: 'ok.txt' }, 'fine\n'], [{ name: `../../../../../../..${outside}/dotdot.txt` }, 'escaped\n']],
    'an absolute name': [[{ name: `${outside}/absolute.txt` }, 'escaped\n']],
    'a file through a symlink to the host': [[{ name: 'link', type: 'symlink', linkname: join(outside, 'dir') }], [{ name: 'link/through-link.txt' }, 'escaped\n']],
    'a hardlink to a host file': [[{ name: 'hard', type: 'link', linkname: join(outside, 'secret') }]],
    'a hardlink climbing out': [[{ name: 'hard', type: 'link', linkname: `../../../../../../..${outside}/secret` }]],
  };
  for (const [what, entries] of Object.entries(variants)) {
    const p = pack();
    for (const [h, body] of entries) {
      const header = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, ...h } as never;
      if (body === undefined) p.entry(header);
      else p.entry(header, body);
    }
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    const tarGz = gzipSync(Buffer.concat(chunks));
    const mountBlob = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(tarGz), size: tarGz.length, annotations: { 'dev.tsbuild.cache.diffid': sha256(Buffer.concat(chunks)) } };
    const { manifest, extra } = withConfig((c) => ({ ...c, cacheMounts: [{ id: 'hostile', layer: honest.manifest.layers.length }] }));
    extra.set(mountBlob.digest, tarGz);
    const reg = await serveCache(t, { ...manifest, layers: [...manifest.layers, mountBlob] }, undefined, extra);
    const ctx = contextDir({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,id=hostile,target=/c ls -la /c; cat /c/hard 2>&1; echo LISTED\n' });
    t.teardown(() => removeDir(ctx));
    const r = await runTsbuild(['build', '--progress', 'plain', '--build-context', `busybox=oci-layout://${base}`, '--cache-from', reg.ref, ctx], { root: join(work, `runner-${n++}`) });
    t.is(r.code, 0, `${what}: ${r.stderr}`);
    t.notRegex(r.stderr, /internal error|This is a bug|^\s+at /m, what);
    t.regex(r.stderr, /--cache-from .*: cache mount "hostile" not restored: unsafe tar entry/, what);
    for (const f of ['dotdot.txt', 'absolute.txt', join('dir', 'through-link.txt')]) t.false(existsSync(join(outside, f)), `${what}: ${f}`);
    t.is(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n', what);
    t.notRegex(r.stderr, /#\d+ [\d.]+ host secret/, `${what}: no host file is reachable from the cache mount`);
  }
});
