// The differential suite's harness: every directory under fixtures/oracle/ is one case (a
// Dockerfile, its context, and optionally case.json). tsbuild builds it; BuildKit (Docker 20.10,
// through shared/tools/oracle.sh) builds it too, or, where that BuildKit cannot or does wrong, the
// case carries hand-written `fs.expected` / `config.expected`. Both sides are judged by the same
// fslist.py listing and compared with a unified diff.
//
// Lifecycle: `openOracleSuite()` once per test file (builds the base into a shared state root);
// `suite.run(case)` per case; `suite.close()` at the end. BuildKit's listings are cached under
// /tmp by a hash of the prepared context, build flags and the base's listing, so reruns only
// build with tsbuild.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import PQueue from 'p-queue';
import { oracleScript } from './docker.ts';
import { buildBusybox, removeDir, repoRoot, runTsbuild, tempDir } from './tsbuild.ts';

const execFileAsync = promisify(execFile);

export const casesRoot = join(repoRoot, 'fixtures', 'oracle');
/** The base every case builds FROM, in both stores: busybox plus the runtime's mount points. */
export const baseImage = 'oracle/busybox';
/** BuildKit's listings per case hash; bump `cacheVersion` when the listing or the flags change. */
export const buildkitCacheDir = process.env.TSBUILD_ORACLE_CACHE ?? '/tmp/tsbuild-oracle-cache';
const cacheVersion = 'v1';
/** Files of a case directory that belong to the harness, not to the build context. */
const harnessFiles = new Set(['case.json', 'fs.expected', 'config.expected']);

export interface CaseSpec {
  buildArgs?: Record<string, string>;
  target?: string;
  /** `hand`: compare with fs.expected / config.expected instead of BuildKit. */
  expected?: 'oracle' | 'hand';
  /** Why a case is hand-written (which feature this BuildKit lacks). */
  why?: string;
  /** BuildKit does this wrong (reason from the Dockerfile reference); compared with the hand-written files. */
  buildkitBug?: string;
  /** The build must fail on both sides; tsbuild's error output must match this regular expression. */
  fails?: string;
  /** A tsbuild bug, one line of root cause: the case is registered with `test.failing`. */
  knownFailure?: string;
  /** Context entries git cannot carry, made when the context is prepared. */
  setup?: {
    emptyDirs?: string[];
    /** link path → existing file it shares an inode with */
    hardLinks?: Record<string, string>;
    /** link path → target */
    symlinks?: Record<string, string>;
    /** path → octal mode, e.g. "0600" */
    modes?: Record<string, string>;
  };
}

export interface OracleCase {
  name: string;
  dir: string;
  spec: CaseSpec;
  /** true when the comparison is with hand-written files (no Docker needed). */
  hand: boolean;
}

/** Every case under fixtures/oracle/, sorted by name; `_`-prefixed directories are support (the base). */
export function loadCases(root = casesRoot): OracleCase[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = join(root, name);
      const specPath = join(dir, 'case.json');
      const spec = (existsSync(specPath) ? JSON.parse(readFileSync(specPath, 'utf8')) : {}) as CaseSpec;
      return { name, dir, spec, hand: spec.expected === 'hand' || spec.buildkitBug !== undefined };
    });
}

export interface Listing {
  fs: string;
  config: string;
}

export interface CaseResult {
  /** unified diffs, empty when equal */
  fsDiff: string;
  configDiff: string;
  /** which side the case was compared with */
  against: 'buildkit' | 'buildkit (cached)' | 'hand';
}

async function fslist(kind: 'fs' | 'config', image: string): Promise<string> {
  const { stdout } = await execFileAsync('bash', [oracleScript, kind, image], { maxBuffer: 64 << 20 });
  return stdout;
}

/**
 * The listing by shared/tools/fslist.py (a judge tsbuild did not write) when ../shared is there,
 * else by tsbuild's own lister (src/image/fs-listing.ts, same format; test/image/fs-listing.test.ts
 * holds it to fslist.py's output), so hand-written cases run on a user's clone too.
 */
export async function listing(image: string): Promise<Listing> {
  if (!existsSync(oracleScript)) return ownListing(image);
  const [fs, config] = await Promise.all([fslist('fs', image), fslist('config', image)]);
  return { fs, config };
}

export async function ownListing(image: string): Promise<Listing> {
  const { openImageSource } = await import('../../control/image-source.ts');
  const { listImage } = await import('../../control/diff-images.ts');
  const src = await openImageSource(image, () => Promise.reject(new Error(`${image}: not a file`)));
  try {
    const l = await listImage(src);
    return { fs: l.files.map((x) => `${x}\n`).join(''), config: l.config };
  } finally {
    src.close();
  }
}

/** `diff -u` of two texts, labelled; '' when equal. */
export async function unifiedDiff(a: string, b: string, labelA: string, labelB: string): Promise<string> {
  if (a === b) return '';
  const dir = tempDir('tsbuild-diff-');
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    try {
      await execFileAsync('diff', ['-u', '--label', labelA, '--label', labelB, join(dir, 'a'), join(dir, 'b')], { maxBuffer: 64 << 20 });
      return '';
    } catch (err) {
      return (err as { stdout?: string }).stdout ?? String(err);
    }
  } finally {
    removeDir(dir);
  }
}

/**
 * The lines of `fs` that the base listing lacks (added or changed), then `-PATH` for each base
 * path that is gone: the form of a hand-written fs.expected, so it states only what the case adds.
 */
export function fsDelta(fs: string, baseFs: string): string {
  const base = new Set(baseFs.split('\n').filter(Boolean));
  const lines = fs.split('\n').filter(Boolean);
  const paths = new Set(lines.map((l) => l.split('\t')[0]));
  const added = lines.filter((l) => !base.has(l));
  const removed = [...base].map((l) => l.split('\t')[0]).filter((p) => !paths.has(p)).map((p) => `-${p}`);
  return [...added, ...removed].map((l) => `${l}\n`).join('');
}

/**
 * Copies a case directory into a fresh context: harness files left out, modes normalised (0755
 * for executables, else 0644; dirs and the context root 0755) so a git checkout's umask does not matter, then
 * case.json's setup applied.
 */
export function prepareContext(c: OracleCase): string {
  const ctx = tempDir(`tsbuild-oracle-${c.name}-`);
  const walk = (rel: string) => {
    for (const e of readdirSync(join(c.dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && harnessFiles.has(e.name)) continue;
      const src = join(c.dir, r);
      const dst = join(ctx, r);
      if (e.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
      else if (e.isDirectory()) {
        mkdirSync(dst);
        chmodSync(dst, 0o755);
        walk(r);
      } else {
        cpSync(src, dst);
        chmodSync(dst, lstatSync(src).mode & 0o100 ? 0o755 : 0o644);
      }
    }
  };
  walk('');
  chmodSync(ctx, 0o755); // a checkout's mode, not mkdtemp's 0700; setup.modes may set "." itself
  const setup = c.spec.setup ?? {};
  for (const d of setup.emptyDirs ?? []) mkdirSync(join(ctx, d), { recursive: true, mode: 0o755 });
  // git keeps no empty directories: a link's directory may exist only in the working tree that made the case
  for (const [link, target] of Object.entries(setup.hardLinks ?? {})) {
    mkdirSync(dirname(join(ctx, link)), { recursive: true, mode: 0o755 });
    linkSync(join(ctx, target), join(ctx, link));
  }
  for (const [link, target] of Object.entries(setup.symlinks ?? {})) {
    mkdirSync(dirname(join(ctx, link)), { recursive: true, mode: 0o755 });
    symlinkSync(target, join(ctx, link));
  }
  for (const [path, mode] of Object.entries(setup.modes ?? {})) chmodSync(join(ctx, path), parseInt(mode, 8));
  return ctx;
}

/** sha256 over a context's tree: paths, types, modes, bytes, link targets and hard-link groups. */
export function contextHash(ctx: string, extra: string): string {
  const h = createHash('sha256').update(`${cacheVersion}\n${extra}\n`);
  const inodes = new Map<number, string>();
  h.update(`.\0${lstatSync(ctx).mode.toString(8)}\0dir\n`);
  const walk = (rel: string) => {
    for (const name of readdirSync(join(ctx, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(ctx, r));
      h.update(`${r}\0${st.mode.toString(8)}\0`);
      if (st.isSymbolicLink()) h.update(`-> ${readlinkSync(join(ctx, r))}\n`);
      else if (st.isDirectory()) {
        h.update('dir\n');
        walk(r);
      } else {
        if (st.nlink > 1 && inodes.has(st.ino)) h.update(`link ${inodes.get(st.ino)}\n`);
        else h.update(readFileSync(join(ctx, r))).update('\n');
        inodes.set(st.ino, r);
      }
    }
  };
  walk('');
  return h.digest('hex');
}

function buildFlags(spec: CaseSpec): string[] {
  const flags: string[] = [];
  for (const [k, v] of Object.entries(spec.buildArgs ?? {})) flags.push('--build-arg', `${k}=${v}`);
  if (spec.target) flags.push('--target', spec.target);
  return flags;
}

/**
 * DOCKER_HOST of the oracle's private dockerd, started if need be, or undefined with the reason.
 * Synchronous because ava wants every test declared before the file's first tick, and whether a
 * case runs or shows as skipped depends on it.
 */
export function probeDockerSync(): { host?: string; reason?: string } {
  if (!existsSync('/usr/sbin/dockerd') || !existsSync('/usr/bin/docker')) return { reason: 'docker not installed (/usr/sbin/dockerd, /usr/bin/docker)' };
  if (!existsSync(oracleScript)) return { reason: `${oracleScript} not found` };
  try {
    const out = execFileSync('bash', [oracleScript, 'start'], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const host = /DOCKER_HOST=(\S+)/.exec(out)?.[1];
    return host ? { host } : { reason: 'oracle.sh start printed no DOCKER_HOST' };
  } catch (err) {
    return { reason: `oracle.sh start failed: ${String((err as { stderr?: string }).stderr ?? err).trim().split('\n').pop()}` };
  }
}

export interface OracleSuite {
  /** DOCKER_HOST of the oracle, undefined when Docker is absent (oracle cases are then skipped). */
  host: string | undefined;
  /** the base image's listing (fs, config) */
  base: Listing;
  run(c: OracleCase): Promise<CaseResult>;
  close(): void;
}

/**
 * Builds the busybox fixture and the oracle base (fixtures/oracle/_base) into one state root
 * shared by every case, and writes the base as an OCI archive for BuildKit's store. Docker is
 * started only when some case needs it; the base is imported into it on the first cache miss.
 */
export async function openOracleSuite(opts: { host: string | undefined }): Promise<OracleSuite> {
  const root = tempDir('tsbuild-oracle-root-');
  const work = tempDir('tsbuild-oracle-out-');
  await buildBusybox(root);
  const baseTar = join(work, 'base.tar');
  const baseCtx = join(casesRoot, '_base');
  for (const args of [['-t', baseImage], ['-o', `type=oci,dest=${baseTar}`]]) {
    const r = await runTsbuild(['build', '--progress', 'plain', ...args, baseCtx], { root });
    if (r.code !== 0) throw new Error(`building the oracle base failed:\n${r.stderr}`);
  }
  const base = await listing(baseTar);
  const baseFingerprint = createHash('sha256').update(base.fs).update(base.config).digest('hex');
  const host = opts.host;
  let imported: Promise<unknown> | undefined;
  const importBase = () => (imported ??= execFileAsync('bash', [oracleScript, 'import', `${baseImage}:latest`, baseTar], { timeout: 120_000 }));
  // two builds of each side at once: 2 cores here, and BuildKit's run in its own daemon
  const ours = new PQueue({ concurrency: 2 });
  const theirs = new PQueue({ concurrency: 2 });
  let n = 0;

  /** A `fails` case: '' when tsbuild fails with the expected message, else what went wrong. */
  const tsbuildFailure = async (c: OracleCase, ctx: string): Promise<string> => {
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=oci,dest=${join(work, `${c.name}-${n++}.tar`)}`, ...buildFlags(c.spec), ctx], { root });
    if (r.code === 0) return 'tsbuild built it, expected a failure';
    return new RegExp(c.spec.fails!).test(r.stderr) ? '' : `tsbuild failed, but its output does not match /${c.spec.fails}/:\n${r.stderr.slice(-2000)}`;
  };

  /** A `fails` case: '' when BuildKit refuses it too (remembered in the cache), else what went wrong. */
  const buildkitFailure = async (c: OracleCase, ctx: string): Promise<{ problem: string; cached: boolean }> => {
    const hash = contextHash(ctx, `${baseFingerprint}\n${JSON.stringify(buildFlags(c.spec))}\nfails`);
    const dir = join(buildkitCacheDir, hash);
    if (existsSync(join(dir, 'error'))) return { problem: '', cached: true };
    if (!host) throw new Error('docker is not available');
    await importBase();
    const out = join(work, `${c.name}-bk-${n++}.tar`);
    try {
      await execFileAsync('bash', [oracleScript, 'build', out, ctx, ...buildFlags(c.spec)], { timeout: 300_000, maxBuffer: 64 << 20 });
      rmSync(out, { force: true });
      return { problem: 'BuildKit built it, the case expects a failure', cached: false };
    } catch (err) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'error'), String((err as { stderr?: string }).stderr ?? err));
      writeFileSync(join(dir, 'case'), `${c.name}\n`);
      return { problem: '', cached: false };
    }
  };

  const tsbuildListing = async (c: OracleCase, ctx: string): Promise<Listing> => {
    const out = join(work, `${c.name}-${n++}.tar`);
    const r = await runTsbuild(['build', '--progress', 'plain', '-o', `type=oci,dest=${out}`, ...buildFlags(c.spec), ctx], { root });
    if (r.code !== 0) throw new Error(`tsbuild failed on case ${c.name} (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
    try {
      const judged = await listing(out);
      // with ../shared, every case also holds tsbuild's own lister (tsbuild diff) to fslist.py's listing
      if (existsSync(oracleScript)) {
        const own = await ownListing(out);
        const fsDiff = await unifiedDiff(judged.fs, own.fs, 'fslist.py (fs)', 'src/image/fs-listing.ts (fs)');
        const configDiff = await unifiedDiff(judged.config, own.config, 'fslist.py (config)', 'src/image/fs-listing.ts (config)');
        if (fsDiff || configDiff) throw new Error(`case ${c.name}: tsbuild's own image lister disagrees with fslist.py:\n${fsDiff}${configDiff}`);
      }
      return judged;
    } finally {
      rmSync(out, { force: true });
    }
  };

  const buildkitListing = async (c: OracleCase, ctx: string): Promise<{ listing: Listing; cached: boolean }> => {
    const hash = contextHash(ctx, `${baseFingerprint}\n${JSON.stringify(buildFlags(c.spec))}`);
    const dir = join(buildkitCacheDir, hash);
    if (existsSync(join(dir, 'config'))) return { listing: { fs: readFileSync(join(dir, 'fs'), 'utf8'), config: readFileSync(join(dir, 'config'), 'utf8') }, cached: true };
    if (!host) throw new Error('docker is not available');
    await importBase();
    const out = join(work, `${c.name}-bk-${n++}.tar`);
    try {
      await execFileAsync('bash', [oracleScript, 'build', out, ctx, ...buildFlags(c.spec)], { timeout: 300_000, maxBuffer: 64 << 20 });
    } catch (err) {
      throw new Error(`BuildKit failed on case ${c.name}:\n${(err as { stderr?: string }).stderr ?? String(err)}`);
    }
    const l = await listing(out);
    rmSync(out, { force: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'fs'), l.fs);
    writeFileSync(join(tmp, 'config'), l.config);
    writeFileSync(join(tmp, 'case'), `${c.name}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { listing: l, cached: false };
  };

  return {
    host,
    base,
    async run(c) {
      const ctx = prepareContext(c);
      try {
        if (c.spec.fails !== undefined) {
          const [bk, ours_] = await Promise.all([c.hand ? undefined : theirs.add(() => buildkitFailure(c, ctx)), ours.add(() => tsbuildFailure(c, ctx))]);
          return { against: !bk ? 'hand' : bk.cached ? 'buildkit (cached)' : 'buildkit', fsDiff: [bk?.problem, ours_].filter(Boolean).join('\n'), configDiff: '' };
        }
        if (c.hand) {
          const got = await ours.add(() => tsbuildListing(c, ctx));
          const fsWant = readFileSync(join(c.dir, 'fs.expected'), 'utf8');
          const configWant = readFileSync(join(c.dir, 'config.expected'), 'utf8');
          return {
            against: 'hand',
            fsDiff: await unifiedDiff(fsWant, fsDelta(got.fs, base.fs), `${c.name}/fs.expected`, 'tsbuild (fs, delta from the base)'),
            configDiff: await unifiedDiff(configWant, got.config, `${c.name}/config.expected`, 'tsbuild (config)'),
          };
        }
        // BuildKit and tsbuild build at once; BuildKit's listing may come from the cache
        const [bk, got] = await Promise.all([theirs.add(() => buildkitListing(c, ctx)), ours.add(() => tsbuildListing(c, ctx))]);
        return {
          against: bk!.cached ? 'buildkit (cached)' : 'buildkit',
          fsDiff: await unifiedDiff(bk!.listing.fs, got.fs, 'buildkit (fs)', 'tsbuild (fs)'),
          configDiff: await unifiedDiff(bk!.listing.config, got.config, 'buildkit (config)', 'tsbuild (config)'),
        };
      } finally {
        removeDir(ctx);
      }
    },
    close() {
      removeDir(root);
      removeDir(work);
    },
  };
}
