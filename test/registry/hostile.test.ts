// issue 7 item 6: a hostile or broken registry (a node:http server on 127.0.0.1 written here)
// cannot make tsbuild read without bound or wait forever: a chunked manifest is cut off at 4 MiB,
// a blob at its descriptor's size + 1, and a transfer that stalls is aborted, retried and reported.
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { openContentStore } from '../../src/content/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createRegistryClient, pullImage } from '../../src/registry/index.ts';
import { craftImage, startCraftedRegistry, type CraftedImage, type Misbehaviour } from '../_support/hostile-image.ts';
import { tarOf } from '../_support/registry.ts';
import { contextDir, removeDir, runTsbuild, tempDir } from '../_support/tsbuild.ts';

/** Writes `chunk` until the client goes away or `limit` bytes are out, honouring backpressure; resolves the bytes written. */
function flood(res: ServerResponse, chunk: Buffer, limit: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let closed = false;
    res.on('close', () => {
      closed = true;
      resolve(sent);
    });
    const pump = () => {
      while (!closed && sent < limit) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!closed) res.end();
    };
    pump();
  });
}

async function setup(t: { teardown(fn: () => void): void }, misbehave: Misbehaviour, img?: CraftedImage) {
  const image = img ?? craftImage({ layers: [await tarOf({ 'a.txt': 'a'.repeat(3000) })] });
  const reg = await startCraftedRegistry(image, misbehave);
  const dir = tempDir('tsbuild-content-');
  t.teardown(() => {
    void reg.stop();
    removeDir(dir);
  });
  return { image, reg, content: openContentStore(dir), dir };
}

test('issue 7: a chunked manifest over 4 MiB is refused while reading, not read to its end', async (t) => {
  let sent: Promise<number> | undefined;
  const { reg, content } = await setup(t, (what, _req, res) => {
    if (what !== 'manifest') return false;
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }); // no Content-Length: chunked
    sent = flood(res, Buffer.alloc(64 * 1024, ' '), 200 * 1024 * 1024);
    return true;
  });
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient(), content, ref: `${reg.host}/big:1` }));
  t.true(isTsbuildError(e), String(e));
  t.is(e!.message, `${reg.host}/big:1: the manifest is larger than 4194304 bytes`);
  t.true((await sent!) < 32 * 1024 * 1024, 'the body was not read to its 200 MB end');
  t.is(reg.requests.filter((r) => r.includes('/manifests/')).length, 1, 'not retried: a retry would get the same');
});

test('issue 7: a blob longer than its descriptor stops at size + 1 bytes and fails naming it', async (t) => {
  const image = craftImage({ layers: [await tarOf({ 'a.txt': 'a'.repeat(3000) })] });
  const layer = (JSON.parse(image.manifest.toString()) as { layers: { digest: string; size: number }[] }).layers[0];
  let sent: Promise<number> | undefined;
  const { reg, content, dir } = await setup(
    t,
    (what, _req, res) => {
      if (what !== layer.digest) return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length to refuse up front
      sent = flood(res, Buffer.alloc(64 * 1024, 'x'), 52 * 1024 * 1024);
      return true;
    },
    image,
  );
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient(), content, ref: `${reg.host}/long:1` }));
  t.true(isTsbuildError(e) && e.code === 'DIGEST_MISMATCH', String(e));
  t.is(e!.message, `blob ${layer.digest} of ${reg.host}/long: the registry sent more than the ${layer.size} bytes the manifest gives it`);
  t.true((await sent!) < 16 * 1024 * 1024, 'the 52 MB body was not read to its end');
  t.deepEqual(readdirSync(join(dir, 'ingest')), [], 'no partial blob is left');
  t.false(existsSync(join(dir, 'blobs', 'sha256', layer.digest.slice(7))));
});

test('issue 7: a registry that sends 10 bytes and stalls is aborted, retried, and reported', async (t) => {
  const image = craftImage({ layers: [await tarOf({ 'a.txt': 'a'.repeat(3000) })] });
  const layer = (JSON.parse(image.manifest.toString()) as { layers: { digest: string }[] }).layers[0];
  let attempts = 0;
  const { reg, content } = await setup(
    t,
    (what, _req, res) => {
      if (what !== layer.digest) return false;
      attempts++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': image.blobs.get(layer.digest)!.length });
      res.write(image.blobs.get(layer.digest)!.subarray(0, 10));
      return true; // and nothing more, ever
    },
    image,
  );
  const started = Date.now();
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient({ stallTimeoutMs: 500 }), content, ref: `${reg.host}/stall:1` }));
  const took = Date.now() - started;
  t.true(isTsbuildError(e) && e.code === 'REGISTRY_ERROR' && e.kind === 'unavailable', String(e));
  t.is(e!.message, `blob ${layer.digest} of ${reg.host}/stall: the registry sent nothing for 0.5 s, the transfer stalled`);
  t.is(attempts, 4, 'retried like a dropped connection: 1 + 3 retries');
  // 4 × 0.5 s stalled + 0.2 + 0.6 + 1.8 s (+20% jitter) between attempts; the message and the
  // attempts show the stall timeout ended each (without it the pull would never end)
  t.log(`took ${took} ms`);
});

test('issue 7: a registry that never answers the manifest request is aborted too', async (t) => {
  const { reg, content } = await setup(t, (what) => what === 'manifest'); // accepted, never answered
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient({ stallTimeoutMs: 300 }), content, ref: `${reg.host}/mute:1` }));
  t.is(e?.message, `${reg.host}/mute:1: the registry sent nothing for 0.3 s, the transfer stalled`);
  t.is(reg.requests.filter((r) => r.includes('/manifests/')).length, 4);
});

/** A registry whose one layer sends 10 bytes and then nothing, and a context building FROM it. */
async function stallingBuild(t: ExecutionContext): Promise<{ reg: { host: string }; layer: { digest: string }; root: string; ctx: string }> {
  const image = craftImage({ layers: [await tarOf({ 'a.txt': 'a' })] });
  const layer = (JSON.parse(image.manifest.toString()) as { layers: { digest: string }[] }).layers[0];
  const { reg } = await setup(
    t,
    (what, _req, res) => {
      if (what !== layer.digest) return false;
      res.writeHead(200, { 'content-length': image.blobs.get(layer.digest)!.length });
      res.write(image.blobs.get(layer.digest)!.subarray(0, 10));
      return true;
    },
    image,
  );
  const root = tempDir('tsbuild-root-');
  const ctx = contextDir({ Dockerfile: `FROM ${reg.host}/stall:1\nENV A=1\n` });
  t.teardown(() => {
    removeDir(root);
    removeDir(ctx);
  });
  return { reg, layer, root, ctx };
}

test('issue 7: tsbuild build against a stalling registry fails within the timeout (TSBUILD_REGISTRY_STALL_TIMEOUT)', async (t) => {
  const { reg, layer, root, ctx } = await stallingBuild(t);
  const started = Date.now();
  const r = await runTsbuild(['build', '--progress', 'plain', ctx], { root, env: { TSBUILD_REGISTRY_STALL_TIMEOUT: '1' } });
  t.true(Date.now() - started < 20_000);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`ERROR: .*blob ${layer.digest} of ${reg.host.replace(/\./g, '\\.')}/stall: the registry sent nothing for 1 s, the transfer stalled`));
  t.regex(r.stderr, /TSBUILD_REGISTRY_STALL_TIMEOUT sets the wait/);
  t.notRegex(r.stderr, /internal error|    at /);
});

test('issue 7: SIGTERM during a pull from a stalled registry stops the build at once (cancellation reaches pulls)', async (t) => {
  const { reg, layer, root, ctx } = await stallingBuild(t);
  const { spawn } = await import('node:child_process');
  const { tsbuildBin } = await import('../_support/tsbuild.ts');
  // the default 30 s stall timeout: only the signal can end this pull soon
  const child = spawn(process.execPath, [tsbuildBin, '--root', root, 'build', '--progress', 'plain', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((ok) => child.on('close', ok));
  const started = Date.now();
  while (!stderr.includes('load metadata for') && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  const signalled = Date.now();
  child.kill('SIGTERM');
  const code = await closed;
  t.log(`stopped ${Date.now() - signalled} ms after SIGTERM`);
  t.not(code, 0);
  t.regex(stderr, /cancelled/);
  // the signal ended it, not the 30 s stall timeout
  t.notRegex(stderr, /stalled/);
  t.notRegex(stderr, /internal error|    at /);
  const ingest = join(root, 'content', 'ingest');
  t.deepEqual(existsSync(ingest) ? readdirSync(ingest) : [], [], 'no partial blob left');
});

test('issue 7: an endless error body is read no further than 64 KiB for the message', async (t) => {
  const sent: Promise<number>[] = [];
  const { reg, content } = await setup(t, (what, _req, res) => {
    if (what !== 'manifest') return false;
    res.writeHead(400, { 'content-type': 'text/plain' });
    sent.push(flood(res, Buffer.alloc(64 * 1024, 'e'), 200 * 1024 * 1024));
    return true;
  });
  const e = await t.throwsAsync(pullImage({ client: createRegistryClient(), content, ref: `${reg.host}/err:1` }));
  t.true(isTsbuildError(e) && e.code === 'REGISTRY_ERROR', String(e));
  t.is(e!.message, `${reg.host}/err:1: 400 Bad Request`);
  for (const n of await Promise.all(sent)) t.true(n < 32 * 1024 * 1024, `${n} bytes sent`);
});

test('issue 7: a token service that answers with junk or without end is a clear error', async (t) => {
  const sent: Promise<number>[] = [];
  let host = '';
  const { reg, content } = await setup(t, (what, req, res) => {
    if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url.includes('junk')) res.end('{not json');
      else sent.push(flood(res, Buffer.alloc(64 * 1024, ' '), 200 * 1024 * 1024));
      return true;
    }
    if (what !== 'manifest') return false;
    const realm = `http://${host}/token${req.url?.includes('junk') ? '-junk' : ''}`;
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="test"`, 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
    return true;
  });
  host = reg.host;
  const junk = await t.throwsAsync(pullImage({ client: createRegistryClient(), content, ref: `${reg.host}/junk:1` }));
  t.is(junk?.message, `${reg.host}/junk:1: the token service http://${reg.host} sent no token`);
  const endless = await t.throwsAsync(pullImage({ client: createRegistryClient(), content, ref: `${reg.host}/endless:1` }));
  t.is(endless?.message, `token for ${reg.host}/endless:1 from http://${reg.host}: the answer is larger than 1048576 bytes`);
  for (const n of await Promise.all(sent)) t.true(n < 32 * 1024 * 1024, `${n} bytes sent`);
});

test('issue 7: fuzz: 150 mutated manifests, indexes and configs from a registry pull or fail with a TsbuildError', async (t) => {
  // seeded (mulberry32) so a failure names a case that replays
  let s = Number(process.env.TSBUILD_FUZZ_SEED ?? 7);
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const values: unknown[] = [null, 0, -1, 2 ** 60, '', 'sha256:../x', true, [], [null], {}, { a: 1 }, 'application/vnd.oci.image.index.v1+json'];
  const mutateDoc = (doc: unknown): unknown => {
    const copy = JSON.parse(JSON.stringify(doc)) as unknown;
    const slots: [Record<string | number, unknown>, string | number][] = [];
    const walk = (v: unknown) => {
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (slots.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]), walk(x));
    };
    walk(copy);
    const [holder, key] = slots[Math.floor(rnd() * slots.length)];
    holder[key] = values[Math.floor(rnd() * values.length)];
    return copy;
  };
  const base = craftImage({ layers: [await tarOf({ 'a.txt': 'a' })] });
  const manifest = JSON.parse(base.manifest.toString()) as Record<string, unknown>;
  const config = JSON.parse(base.blobs.get((manifest.config as { digest: string }).digest)!.toString()) as Record<string, unknown>;
  let img: CraftedImage = base;
  const { reg, dir } = await setup(t, (what, _req, res) => {
    const body = what === 'manifest' ? img.manifest : img.blobs.get(what);
    if (!body) return false;
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end(body);
    return true;
  });
  const counts = { ok: 0, refused: 0 };
  const started = Date.now();
  for (let i = 0; i < 150; i++) {
    const which = i % 3;
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: base.manifestDigest, size: base.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] };
    if (which === 0) img = craftImage({ layers: [await tarOf({ 'a.txt': 'a' })], config: () => mutateDoc(config) });
    else if (which === 1) img = { ...base, manifest: Buffer.from(JSON.stringify(mutateDoc(manifest))) };
    else img = { ...base, manifest: Buffer.from(JSON.stringify(mutateDoc(index))) };
    const content = openContentStore(join(dir, `store-${i}`));
    try {
      await pullImage({ client: createRegistryClient({ stallTimeoutMs: 2000 }), content, ref: `${reg.host}/fuzz:${i}` });
      counts.ok++;
    } catch (e) {
      if (!isTsbuildError(e)) throw new Error(`case ${i}: not a TsbuildError: ${(e as Error)?.stack ?? String(e)}`);
      counts.refused++;
    }
  }
  t.log(`${counts.ok} pulled, ${counts.refused} refused in ${Date.now() - started} ms`);
  t.true(counts.refused > 50);
});
