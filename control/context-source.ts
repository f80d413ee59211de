// Where a build's context and Dockerfile come from, as `docker build` reads its arguments:
//   DIR                          a local directory (used as it is)
//   https://host/repo.git#ref:dir, git@host:repo.git, git://…, github.com/u/r
//                                a git repository at a ref, checked out into a temp directory
//   -                            stdin: a tar (plain or gzip) is the context; anything else is
//                                the Dockerfile, with an empty context
//   -f -                         the Dockerfile from stdin, the context as given
// Whatever is materialised lives in one private temp directory, removed by `cleanup()`.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ErrorCodes, TsbuildError, invalid } from '../src/errors/index.ts';
import { discardEarlyWalk, forgetPrewalk, prewalkWanted, readDockerignoreFile, startTreePrewalk, takeEarlyWalk, type EarlyWalk, type TreePrewalk } from '../src/context/index.ts';
import { checkoutGitContext, extractLayer } from '../worker/index.ts';
import { maxDockerfileBytes } from './read-dockerfile.ts';

export interface PreparedContext {
  /** The context directory to build. */
  context: string;
  /** The Dockerfile's path when it is not `<context>/Dockerfile` (-f, or stdin's). */
  file?: string;
  /** How messages name a Dockerfile that came from stdin. */
  dockerfileName?: string;
  /** Removes what was materialised (nothing for a plain directory). */
  cleanup(): void;
  /** A plain directory's walk, started now beside the start-up (src/context/tree-prewalk.ts): pass it with the build's run. */
  prewalk?: TreePrewalk;
}

/**
 * The walk of a directory context, pruned by its .dockerignore's literal paths, when the state
 * root has seen a big read of it. None where the directory or its .dockerignore cannot be read:
 * the build reports that itself. The walk bin/tsbuild.js started (`early`) is taken over when it is
 * this one, else stopped.
 */
async function prewalkOf(context: string, file: string | undefined, stateRoot: string, early: EarlyWalk | undefined): Promise<TreePrewalk | undefined> {
  const dir = resolve(context);
  const reads = prewalkWanted(stateRoot, dir);
  try {
    if (reads === undefined) {
      // a walk early.json still names (its marker gone): not started again
      if (early) forgetPrewalk(stateRoot, dir);
      return undefined;
    }
    const { patterns } = await readDockerignoreFile(dir, file === undefined ? join(dir, 'Dockerfile') : resolve(file));
    const walk = startTreePrewalk(dir, patterns, { reads, onTooBig: () => forgetPrewalk(stateRoot, dir), early, stateRoot });
    early = undefined;
    return walk;
  } catch {
    return undefined;
  } finally {
    discardEarlyWalk(early);
  }
}

/** `docker build`'s rule (cli/opts IsGitURL) for a context argument that is a git repository. */
export function isGitContext(arg: string): boolean {
  return /^(git:\/\/|git@|github\.com\/)/.test(arg) || /^https?:\/\/.+\.git(#.*)?$/.test(arg);
}

export async function prepareContext(opts: { context: string; file?: string; stdin: Readable; signal?: AbortSignal; stateRoot?: string }): Promise<PreparedContext> {
  // opts.stdin is read where it is used: the CLI passes a getter, so process.stdin (a stream over
  // fd 0, ~1.5 ms to make) is made only for a context or a Dockerfile on stdin
  const { context, file } = opts;
  // the walk bin/tsbuild.js started from its guess of this context: used by prewalkOf or stopped here
  const early = takeEarlyWalk();
  if (opts.stateRoot === undefined || context === '-' || isGitContext(context) || file === '-') discardEarlyWalk(early);
  if (context === '-' && file === '-') throw invalid(ErrorCodes.OPTION_INVALID, 'the context and the Dockerfile cannot both come from stdin (- and -f -)', { hint: 'send a tar of the context (with its Dockerfile) on stdin: tar -c . | tsbuild build -' });
  if (context !== '-' && !isGitContext(context) && file !== '-') {
    const prewalk = opts.stateRoot === undefined ? undefined : await prewalkOf(context, file, opts.stateRoot, early);
    return { context, ...(file !== undefined && { file }), cleanup: () => prewalk?.dispose(), ...(prewalk && { prewalk }) };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'tsbuild-context-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  try {
    let dir = context;
    let dockerfile = file;
    let dockerfileName: string | undefined;
    if (context === '-') {
      dir = join(tmp, 'context');
      mkdirSync(dir);
      const head = await peek(opts.stdin, 512);
      if (looksLikeArchive(head.bytes)) await extractLayer(tarOf(head.stream, head.bytes), dir, { whiteouts: false, fidelity: 'user-dir' }).catch((e: unknown) => {
        throw invalid(ErrorCodes.CONTEXT_NOT_FOUND, `the context on stdin is not a readable tar: ${(e as Error).message}`);
      });
      else {
        writeFileSync(join(tmp, 'Dockerfile'), await readBounded(head.stream));
        dockerfile = join(tmp, 'Dockerfile');
        dockerfileName = 'Dockerfile';
      }
    } else if (isGitContext(context)) {
      const { url, ref, subdir } = parseGitContext(context);
      const repo = join(tmp, 'repo');
      mkdirSync(repo);
      await checkoutGitContext(url, ref, repo, opts.signal);
      dir = subdir ? join(repo, subdir) : repo;
      // -f names a file of the repository, as with docker build
      if (dockerfile !== undefined && dockerfile !== '-') dockerfile = resolve(dir, dockerfile);
    }
    if (file === '-') {
      writeFileSync(join(tmp, 'Dockerfile'), await readBounded(opts.stdin));
      dockerfile = join(tmp, 'Dockerfile');
      dockerfileName = 'Dockerfile';
    }
    return { context: dir, ...(dockerfile !== undefined && { file: dockerfile }), ...(dockerfileName && { dockerfileName }), cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** `URL#ref:subdir` → its parts; the subdirectory must stay inside the repository. */
export function parseGitContext(arg: string): { url: string; ref?: string; subdir?: string } {
  let url = arg;
  if (url.startsWith('github.com/')) url = `https://${url}`;
  const hash = url.indexOf('#');
  if (hash < 0) return { url };
  const fragment = url.slice(hash + 1);
  url = url.slice(0, hash);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1).replace(/^\/+|\/+$/g, '');
  if (subdir.split('/').includes('..')) throw invalid(ErrorCodes.OPTION_INVALID, `git context ${arg}: the subdirectory "${subdir}" leaves the repository`);
  if (ref.startsWith('-')) throw invalid(ErrorCodes.OPTION_INVALID, `git context ${arg}: "${ref}" is not a ref`);
  return { url, ...(ref && { ref }), ...(subdir && { subdir }) };
}

/** The tar inside a gzip stream, or the stream itself. */
function tarOf(stream: Readable, head: Buffer): Readable {
  if (!(head[0] === 0x1f && head[1] === 0x8b)) return stream;
  const z = createGunzip();
  pipeline(stream, z).catch((e: unknown) => z.destroy(e as Error));
  return z;
}

function looksLikeArchive(b: Buffer): boolean {
  const gzip = b[0] === 0x1f && b[1] === 0x8b;
  const tar = b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  return gzip || tar;
}

/** The first `n` bytes of `stream` (fewer at its end), and a stream that still yields all of it. */
async function peek(stream: Readable, n: number): Promise<{ bytes: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const it = stream[Symbol.asyncIterator]();
  while (size < n) {
    const r = await it.next();
    if (r.done) break;
    chunks.push(Buffer.from(r.value as Buffer));
    size += (r.value as Buffer).length;
  }
  const head = Buffer.concat(chunks);
  const rest = (async function* () {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
  })();
  return { bytes: head, stream: Readable.from(rest) };
}

async function readBounded(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > maxDockerfileBytes) throw new TsbuildError(`the Dockerfile on stdin is larger than ${maxDockerfileBytes} bytes`, { code: ErrorCodes.OPTION_INVALID, kind: 'invalid' });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
