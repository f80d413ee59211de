// issue 7: a seeded, time-bounded fuzz of what an image feeds the worker. A few hundred mutated
// layers (gzip, zstd and plain tars with bytes flipped, cut, inserted or overwritten) and mutated
// manifests and configs (fields replaced by values of other types) are unpacked; every outcome
// must be success or a TsbuildError, never another exception, a hang or a leftover in <root>/tmp.
// A failure prints its seed and case number, so it can be replayed.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import tar from 'tar-stream';
import { isTsbuildError } from '../../src/errors/index.ts';
import { MediaTypes } from '../../src/image/index.ts';
import type { ImageSource } from '../../src/llb/index.ts';
import { withWorker, type TestWorker } from './_setup.ts';

const seed = Number(process.env.TSBUILD_FUZZ_SEED ?? 7);
// each case is one unpack of a small layer (~10 ms); the whole file stays well under a minute
const layerCases = 240;
const documentCases = 160;
const perCaseMs = 10_000;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function baseTar(): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: 'etc/', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0::/root:/bin/sh\n');
  pack.entry({ name: 'bin/', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'bin/tool', mode: 0o755 }, 'x'.repeat(5000));
  pack.entry({ name: 'bin/link', type: 'symlink', linkname: 'tool' });
  pack.entry({ name: 'bin/hard', type: 'link', linkname: 'bin/tool' });
  pack.entry({ name: 'etc/.wh.gone', mode: 0o644 }, '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function mutate(bytes: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(bytes);
  const at = () => Math.floor(rnd() * b.length);
  switch (Math.floor(rnd() * 5)) {
    case 0: // flip a few bytes
      for (let i = 0, n = 1 + Math.floor(rnd() * 8); i < n; i++) b[at()] ^= 1 + Math.floor(rnd() * 255);
      return b;
    case 1: // cut short
      return b.subarray(0, at());
    case 2: { // insert junk
      const i = at();
      return Buffer.concat([b.subarray(0, i), Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))), b.subarray(i)]);
    }
    case 3: { // overwrite a run with one value (zeros, 0xff, digits)
      const i = at();
      b.fill([0, 0xff, 0x37][Math.floor(rnd() * 3)], i, Math.min(b.length, i + 1 + Math.floor(rnd() * 600)));
      return b;
    }
    default: { // overwrite part of a 512-byte block (a tar header, in a plain tar)
      const start = Math.floor(at() / 512) * 512;
      b.fill(Math.floor(rnd() * 256), start, Math.min(b.length, start + 1 + Math.floor(rnd() * 511)));
      return b;
    }
  }
}

async function storeImage(w: TestWorker, manifest: unknown, config: Buffer | string, layers: Buffer[]): Promise<ImageSource> {
  for (const l of layers) await w.content.putBytes(l);
  await w.content.putBytes(config);
  const m = await w.content.putBytes(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return { kind: 'source', source: 'image', ref: 'fuzz/image:1', digest: m.digest, platform: { os: 'linux', architecture: 'amd64' } };
}

async function outcome(w: TestWorker, op: ImageSource, label: string): Promise<'ok' | 'refused'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label}: no outcome within ${perCaseMs} ms (a hang)`)), perCaseMs)));
  try {
    await Promise.race([w.worker.run(op, [], w.ctx), deadline]);
    return 'ok';
  } catch (e) {
    if (!isTsbuildError(e)) throw new Error(`${label}: not a TsbuildError: ${(e as Error)?.stack ?? String(e)}`);
    return 'refused';
  } finally {
    clearTimeout(timer);
    const left = readdirSync(join(w.root, 'tmp')).filter((n) => n.startsWith('unpack-'));
    if (left.length > 0) throw new Error(`${label}: left ${left.join(', ')} in tmp`);
  }
}

test(`fuzz (seed ${seed}): ${layerCases} mutated layers unpack or fail with a TsbuildError`, (t) =>
  withWorker(async (w) => {
    const rnd = prng(seed);
    const good = await baseTar();
    const counts = { ok: 0, refused: 0 };
    for (let i = 0; i < layerCases; i++) {
      const format = (['gzip', 'zstd', 'tar'] as const)[i % 3];
      const packed = format === 'gzip' ? gzipSync(good) : format === 'zstd' ? zstdCompressSync(good) : good;
      const blob = mutate(packed, rnd);
      // a plain tar's diffId is its own digest, so a mutated one may unpack: that exercises the extractor
      const diffId = format === 'tar' ? sha(blob) : sha(good);
      const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } });
      const mediaType = format === 'gzip' ? MediaTypes.ociLayerGzip : format === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.ociLayer;
      const manifest = { schemaVersion: 2, config: { mediaType: MediaTypes.ociConfig, digest: sha(config), size: config.length }, layers: [{ mediaType, digest: sha(blob), size: blob.length }] };
      counts[await outcome(w, await storeImage(w, manifest, config, [blob]), `seed ${seed} layer case ${i} (${format})`)]++;
    }
    t.log(`${counts.ok} unpacked, ${counts.refused} refused`);
    t.true(counts.refused > 0);
  }));

const values: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'sha256:../../x', 'x'.repeat(300), true, [], [null], {}, { a: 1 }, [1, 'a']];

/** Replaces a random field at any depth of a JSON value with a value of another kind. */
function mutateDoc(doc: unknown, rnd: () => number): unknown {
  const copy = JSON.parse(JSON.stringify(doc)) as unknown;
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (slots.push([v, i]), walk(x)));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (slots.push([v as Record<string, unknown>, k]), walk(x));
  };
  walk(copy);
  const [holder, key] = slots[Math.floor(rnd() * slots.length)];
  const value = values[Math.floor(rnd() * values.length)];
  if (rnd() < 0.15 && !Array.isArray(holder)) delete (holder as Record<string, unknown>)[key as string];
  else (holder as Record<string | number, unknown>)[key] = value;
  return copy;
}

test(`fuzz (seed ${seed}): ${documentCases} mutated manifests and configs are refused with a TsbuildError or work`, (t) =>
  withWorker(async (w) => {
    const rnd = prng(seed + 1);
    const layer = gzipSync(await baseTar());
    const config = { architecture: 'amd64', os: 'linux', config: { User: 'root', Env: ['A=1'], Labels: { a: 'b' } }, rootfs: { type: 'layers', diff_ids: [sha(await baseTar())] }, history: [{ created_by: 'x' }] };
    const counts = { ok: 0, refused: 0 };
    for (let i = 0; i < documentCases; i++) {
      const cfg = i % 2 === 0 ? JSON.stringify(mutateDoc(config, rnd)) : JSON.stringify(config);
      const manifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: sha(cfg), size: cfg.length }, layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: sha(layer), size: layer.length }] };
      const m = i % 2 === 1 ? mutateDoc(manifest, rnd) : manifest;
      counts[await outcome(w, await storeImage(w, m, cfg, [layer]), `seed ${seed + 1} document case ${i}`)]++;
    }
    t.log(`${counts.ok} unpacked, ${counts.refused} refused`);
    t.true(counts.refused > 0);
  }));
