// The http source (ADD <url>): the body, downloaded once, becomes a snapshot holding one file,
// `/<filename>`, that a copy then places (BuildKit models ADD <url> exactly so). As BuildKit:
// mode 0600 unless the op says otherwise, owner 0:0, mtime from Last-Modified when the server
// sends one; the filename is the op's, else Content-Disposition's, else the URL path's last part,
// else "index". Remote archives are never extracted.
//
// Cache keys: with a checksum the op (URL + checksum) is the key and nothing is fetched to compute
// it. Without one, `resolve` downloads the body and the key is its digest, so a changed file
// misses and an unchanged one hits; the download is kept in the build's session for `snapshot`,
// so it happens once per build, and is removed from tmp when the build ends. A later build
// downloads again (there is no conditional GET with ETags yet), so it sees what the URL serves then.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, chown, copyFile, rm, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { HttpSource } from '../../src/llb/index.ts';
import { createStallGuard, httpRequest, resolveStallTimeoutMs, type HttpResponse } from '../../src/registry/index.ts';
import type { BuildSession, RunContext, SessionSlot } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { withActiveSnapshot } from '../snapshot/with-active-snapshot.ts';

interface Download {
  file: string;
  digest: string;
  filename: string;
  lastModified?: Date;
}

export interface HttpSources {
  /** The body's digest (`sha256:…`), downloading it when not yet done in this build (`session`). */
  resolve(op: HttpSource, session: BuildSession, signal?: AbortSignal): Promise<string>;
  /** A committed snapshot holding the build's download of the URL (made now if not yet); verifies op.checksum. */
  snapshot(op: HttpSource, ctx: RunContext & { session: BuildSession }): Promise<string>;
}

/** One build's downloads by URL; when the build ends, their files leave tmp. */
const buildDownloads: SessionSlot<Map<string, Promise<Download>>> = {
  create: () => new Map(),
  async release(downloads) {
    // a download still under way is waited for (its build has aborted it), then removed
    await Promise.all([...downloads.values()].map((d) => d.then((x) => rm(x.file, { force: true })).catch(() => undefined)));
    downloads.clear();
  },
};

export function createHttpSources(env: WorkerEnv): HttpSources {
  const download = (op: HttpSource, session: BuildSession, signal?: AbortSignal) => {
    const downloads = session.keep(buildDownloads);
    let d = downloads.get(op.url);
    if (!d) {
      d = fetchToFile(op.url, join(env.paths.tmp, `http-${randomBytes(8).toString('hex')}`), signal);
      downloads.set(op.url, d);
      // a failed download is retried by the next caller, not remembered
      d.catch(() => downloads.delete(op.url));
    }
    return d;
  };
  return {
    resolve: async (op, session, signal) => (await download(op, session, signal)).digest,
    async snapshot(op, ctx) {
      const d = await download(op, ctx.session, ctx.signal);
      if (op.checksum !== undefined && op.checksum !== d.digest) {
        throw new TsbuildError(`${op.url}: downloaded content has digest ${d.digest}, but --checksum says ${op.checksum}`, {
          code: ErrorCodes.DIGEST_MISMATCH,
          kind: 'invalid',
          hint: 'check the URL, or update the checksum if the file changed on purpose',
        });
      }
      return withActiveSnapshot(env.snapshots, undefined, async (key) => {
        const target = join(env.snapshots.activeDir(key).dir, safeName(op.filename ?? d.filename));
        await copyFile(d.file, target);
        await chown(target, 0, 0);
        await chmod(target, op.chmod ?? 0o600);
        if (d.lastModified) await utimes(target, d.lastModified, d.lastModified);
      }, { signal: ctx.signal });
    },
  };
}

async function fetchToFile(url: string, file: string, signal?: AbortSignal): Promise<Download> {
  // a server that sends a few bytes and then nothing must not hold the build forever
  const guard = createStallGuard(resolveStallTimeoutMs(), `cannot download ${url}`, 'the server');
  const both = signal ? AbortSignal.any([signal, guard.signal]) : guard.signal;
  const stalled = () => (guard.signal.aborted && !signal?.aborted ? (guard.signal.reason as Error) : undefined);
  let res: HttpResponse;
  try {
    // the registry's HTTP client: redirects of GET followed up to 10 times (as Go's client BuildKit uses), http(s) only
    res = await httpRequest(url, { signal: both });
  } catch (e) {
    // asked before done(), which aborts the guard too
    const stall = stalled();
    guard.done();
    if (stall) throw new TsbuildError(stall.message, { code: ErrorCodes.REGISTRY_ERROR, kind: 'unavailable', cause: e });
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new TsbuildError(`cannot download ${url}: ${cause}`, { code: ErrorCodes.REGISTRY_ERROR, kind: 'unavailable', cause: e });
  }
  guard.touch();
  if (!res.ok || !res.body) {
    res.cancel();
    guard.done();
    throw new TsbuildError(`cannot download ${url}: the server answered ${res.status} ${res.statusText}`.trimEnd(), { code: ErrorCodes.REGISTRY_ERROR, kind: res.status === 404 ? 'not-found' : 'unavailable' });
  }
  const hash = createHash('sha256');
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      guard.touch(chunk.length);
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    const decoded = decoderFor(res.headers.get('content-encoding'));
    await (decoded ? pipeline(res.body, decoded, tee, createWriteStream(file, { mode: 0o600 })) : pipeline(res.body, tee, createWriteStream(file, { mode: 0o600 })));
  } catch (e) {
    await rm(file, { force: true });
    const message = stalled()?.message ?? `cannot download ${url}: ${(e as Error).message}`;
    throw new TsbuildError(message, { code: ErrorCodes.REGISTRY_ERROR, kind: 'unavailable', cause: e });
  } finally {
    guard.done();
  }
  const lm = res.headers.get('last-modified');
  const lastModified = lm ? new Date(lm) : undefined;
  return {
    file,
    digest: `sha256:${hash.digest('hex')}`,
    filename: fileNameOf(url, res.headers.get('content-disposition')),
    lastModified: lastModified && !Number.isNaN(lastModified.getTime()) ? lastModified : undefined,
  };
}

/**
 * We ask for no encoding, so a server should send the bytes as they are; one that compresses the
 * transfer anyway is decoded, as fetch did (and Go's client, BuildKit's, does for gzip): the file
 * is the resource, not its transfer encoding. An unknown encoding is taken as it comes.
 */
function decoderFor(encoding: string | null): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** BuildKit's getFileName: Content-Disposition's filename, else the URL path's last part, else "index". */
export function fileNameOf(url: string, contentDisposition: string | null): string {
  const m = contentDisposition ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(contentDisposition) : null;
  if (m) {
    const name = basename(decodeURIComponentSafe(m[1]));
    if (name && name !== '.' && name !== '..' && !m[1].endsWith('/')) return name;
  }
  const path = new URL(url).pathname;
  const last = basename(decodeURIComponentSafe(path));
  return last && last !== '.' && last !== '..' && !path.endsWith('/') ? last : 'index';
}

/** One path component, never a way out of the snapshot. */
function safeName(name: string): string {
  const b = basename(name);
  return b === '' || b === '.' || b === '..' ? 'index' : b;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
