// Issue 7: a few hundred seeded, mutated Dockerfiles, layers, manifests and configs. Every outcome
// must be a success or a clear error a user can act on: never a crash, an internal error, a hang,
// or something left behind. The seed is printed; TSBUILD_FUZZ_SEED=<n> replays a run.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { createBuildDefinition } from '../../frontend/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { createRng, int, mutateBytes, mutateDockerfile, mutateJson, pick, type Rng } from '../_support/mutate.ts';
import { tarOf } from '../_support/registry.ts';
import { contextDir, removeDir, repoRoot, tempDir, tsbuildBin } from '../_support/tsbuild.ts';

const seed = Number(process.env.TSBUILD_FUZZ_SEED ?? 20261203);
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// ------------------------------------------------------------------ Dockerfiles, in process

function dockerfileCorpus(): string[] {
  const dir = join(repoRoot, 'fixtures', 'oracle');
  const out = [readFileSync(join(repoRoot, 'fixtures', 'hello', 'Dockerfile'), 'utf8')];
  for (const name of readdirSync(dir).sort()) {
    const f = join(dir, name, 'Dockerfile');
    if (existsSync(f)) out.push(readFileSync(f, 'utf8'));
  }
  return out;
}

const baseConfig = {
  os: 'linux', architecture: 'amd64',
  config: { Env: ['PATH=/bin:/usr/bin'], Cmd: ['sh'], WorkingDir: '/' },
  rootfs: { type: 'layers' as const, diff_ids: ['sha256:' + '1'.repeat(64)] },
  history: [{ created_by: 'ADD rootfs.tar /' }],
};

async function convert(dockerfile: string): Promise<void> {
  await createBuildDefinition({
    dockerfile, dockerfilePath: 'Dockerfile', buildArgs: { V: '1' }, platform: { os: 'linux', architecture: 'amd64' },
    namedContexts: {}, excludePatterns: [],
    resolveImage: async (ref) => ({ ref, digest: 'sha256:' + 'b'.repeat(64), config: structuredClone(baseConfig) }),
  });
}

test(`400 mutated Dockerfiles convert or fail as a user's error (seed ${seed})`, async (t) => {
  const rng = createRng(seed);
  const corpus = dockerfileCorpus();
  let failedClearly = 0;
  const failures: string[] = [];
  for (let i = 0; i < 400; i++) {
    let text = pick(rng, corpus);
    const hows: string[] = [];
    for (let n = 1 + int(rng, 3); n > 0; n--) {
      const m = mutateDockerfile(rng, text);
      text = m.text;
      hows.push(m.how);
    }
    const outcome = await Promise.race([
      convert(text).then(() => 'ok', (e: unknown) => e),
      new Promise((resolve) => setTimeout(() => resolve('hang'), 10_000)),
    ]);
    if (outcome === 'ok') continue;
    const what = `case ${i} (${hows.join('; ')}):\n${text.slice(0, 2000)}`;
    if (outcome === 'hang') failures.push(`conversion did not finish in 10 s: ${what}`);
    else if (!isTsbuildError(outcome) || outcome.kind === 'internal') failures.push(`not a user's error: ${String((outcome as Error)?.stack ?? outcome)}\n${what}`);
    else failedClearly++;
  }
  t.log(`seed ${seed}: ${failedClearly} of 400 failed with a clear error, the rest converted`);
  // every failure at once, so one run lists all the classes to fix
  t.deepEqual(failures, []);
});

// ------------------------------------------------------------------ images, through the CLI

interface LayerSpec {
  bytes: Buffer;
  mediaType: string;
  diffId: string;
}

type Doc = 'config' | 'manifest' | 'index';

/**
 * Writes an OCI layout tagged `latest` from raw layers. `damage` changes one document; the ones
 * above it are written after it, so their digests still match and the damage is what is read.
 */
function writeLayout(dir: string, layers: LayerSpec[], damage?: { doc: Doc; change: (doc: unknown) => unknown }): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer | string) => {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
    writeFileSync(join(blobs, sha256(buf).slice(7)), buf);
    return { digest: sha256(buf), size: buf.length };
  };
  const damaged = (doc: Doc, value: unknown) => (damage?.doc === doc ? damage.change(value) : value);
  const config = damaged('config', {
      created: '2024-01-01T00:00:00Z', os: 'linux', architecture: 'amd64',
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], User: 'root' },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created_by: `layer ${i}` })),
  });
  const layerDescs = layers.map((l) => ({ mediaType: l.mediaType, ...put(l.bytes) }));
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(JSON.stringify(config)) };
  const manifest = damaged('manifest', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: layerDescs });
  const manifestDesc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(JSON.stringify(manifest)), annotations: { 'org.opencontainers.image.ref.name': 'latest' } };
  const index = damaged('index', { schemaVersion: 2, manifests: [manifestDesc] });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

async function goodTar(): Promise<Buffer> {
  return tarOf({ 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n', 'etc/group': 'root:x:0:\n', 'app/a.txt': 'a', 'app/b/c.txt': 'c'.repeat(5000) });
}

function compress(rng: Rng, tar: Buffer): { bytes: Buffer; mediaType: string } {
  switch (int(rng, 3)) {
    case 0:
      return { bytes: gzipSync(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
    case 1:
      return { bytes: zstdCompressSync(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' };
    default:
      return { bytes: tar, mediaType: 'application/vnd.oci.image.layer.v1.tar' };
  }
}

/** A damaged layer: the tar damaged before compression, or the compressed bytes damaged after. */
function damagedLayer(rng: Rng, tar: Buffer): LayerSpec & { how: string } {
  if (rng() < 0.5) {
    const m = mutateBytes(rng, tar);
    const c = compress(rng, m.bytes);
    // half the time the config vouches for the damaged tar, so the tar reader itself meets it
    return { ...c, diffId: rng() < 0.5 ? sha256(m.bytes) : sha256(tar), how: `tar ${m.how}, ${c.mediaType}` };
  }
  const c = compress(rng, tar);
  const m = mutateBytes(rng, c.bytes);
  return { bytes: m.bytes, mediaType: c.mediaType, diffId: sha256(tar), how: `${c.mediaType} ${m.how}` };
}

interface Outcome {
  code: number | null;
  stderr: string;
  timedOut: boolean;
}

function runWithTimeout(args: string[], ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsbuildBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}

/** What a crash, a bug report or a leftover looks like; empty when the outcome is fine. */
function problems(root: string, r: Outcome): string[] {
  const out: string[] = [];
  if (r.timedOut) out.push('did not finish in 90 s');
  else if (r.code !== 0 && r.code !== 1) out.push(`exit code ${r.code}`);
  if (/internal error|This is a bug|Unhandled|^\s+at .*:\d+:\d+\)?$/m.test(r.stderr)) out.push('crash or internal error');
  if (r.code === 1 && !/^ERROR: /m.test(r.stderr)) out.push('failed without an ERROR line');
  if (readFileSync('/proc/mounts', 'utf8').includes(` ${root}/`)) out.push('a mount is left under the root');
  const tmp = join(root, 'tmp');
  if (existsSync(tmp) && readdirSync(tmp).length > 0) out.push(`left in tmp/: ${readdirSync(tmp).join(' ')}`);
  const ingest = join(root, 'content', 'ingest');
  if (existsSync(ingest) && readdirSync(ingest).length > 0) out.push(`left in content/ingest: ${readdirSync(ingest).join(' ')}`);
  return out;
}

function cleanRoot(root: string): void {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n').reverse()) {
    const target = line.split(' ')[1];
    if (target?.startsWith(`${root}/`)) spawnSync('umount', ['-l', target]);
  }
  for (const dir of [join(root, 'tmp'), join(root, 'content', 'ingest')]) {
    if (existsSync(dir)) for (const e of readdirSync(dir)) rmSync(join(dir, e), { recursive: true, force: true });
  }
}

async function fuzzImages(t: import('ava').ExecutionContext, name: string, cases: number, make: (rng: Rng, dir: string, tar: Buffer) => string): Promise<void> {
  const rng = createRng(seed ^ name.length * 7919);
  const root = tempDir();
  const work = tempDir('tsbuild-fuzz-');
  const ctx = contextDir({ Dockerfile: 'FROM base\nCOPY f /f\n', f: 'f' });
  const tar = await goodTar();
  const failures: string[] = [];
  try {
    for (let i = 0; i < cases; i++) {
      const dir = join(work, `layout-${i}`);
      const how = make(rng, dir, tar);
      const r = await runWithTimeout(['--root', root, 'build', '--progress', 'plain', '--build-context', `base=oci-layout://${dir}`, '-o', `type=tar,dest=${join(work, 'out.tar')}`, ctx], 90_000);
      const found = problems(root, r);
      if (found.length > 0) {
        failures.push(`${name} case ${i} (${how}): ${found.join('; ')}\n${r.stderr.slice(-1500)}`);
        // start the next case clean, so one leftover is reported once
        cleanRoot(root);
      }
    }
    t.deepEqual(failures, []);
  } finally {
    removeDir(ctx);
    removeDir(work);
    removeDir(root);
  }
}

test(`damaged layers fail clearly and leave nothing behind (seed ${seed})`, async (t) => {
  await fuzzImages(t, 'layer', 30, (rng, dir, tar) => {
    const layer = damagedLayer(rng, tar);
    writeLayout(dir, [layer]);
    return layer.how;
  });
});

test(`damaged manifests, configs and indexes fail clearly (seed ${seed})`, async (t) => {
  await fuzzImages(t, 'json', 30, (rng, dir, tar) => {
    const c = compress(rng, tar);
    const doc = pick(rng, ['config', 'config', 'manifest', 'index'] as const);
    let how = '';
    writeLayout(dir, [{ ...c, diffId: sha256(tar) }], {
      doc,
      change: (value) => {
        const m = mutateJson(rng, value);
        how = `${doc}: ${m.how}`;
        return m.doc;
      },
    });
    return how;
  });
});
