// The git source (ADD <git url>): the repository at a ref, checked out with the system `git` into a
// new snapshot, shallow (depth 1) where the remote allows it, `.git` removed unless keepGitDir.
// Files are owned 0:0 with git's modes (0644, or 0755 for executables).
//
// Cache key: the commit the ref names now (`git ls-remote`), so a moved branch misses and a
// re-run on the same commit hits. Submodules and git-lfs are not fetched yet.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { GitSource } from '../../src/llb/index.ts';
import type { RunContext } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';

const run = promisify(execFile);
const commitRe = /^[0-9a-f]{40}$/;

// no prompt for credentials (a build must never hang on one), and no host config leaking in
const gitEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: 'true' };

async function git(args: string[], what: string, opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd: opts.cwd, env: gitEnv, signal: opts.signal, maxBuffer: 1 << 24 });
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new TsbuildError('git is not installed: it is needed for git sources', { code: ErrorCodes.RUNTIME_UNAVAILABLE, kind: 'unavailable', hint: 'apt-get install git' });
    if (err.name === 'AbortError') throw new TsbuildError(`${what} was cancelled`, { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
    const stderr = (err.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? err.message;
    throw new TsbuildError(`${what} failed: ${stderr}`, { code: ErrorCodes.CONTEXT_NOT_FOUND, kind: 'not-found', cause: e });
  }
}

/** The commit `op.ref` (default HEAD) names in the remote now. */
export async function resolveGitRef(op: GitSource, signal?: AbortSignal): Promise<string> {
  const ref = op.ref || 'HEAD';
  if (commitRe.test(ref)) return ref;
  const out = await git(['ls-remote', '--', op.url, ref, `${ref}^{}`], `git ls-remote ${op.url}`, { signal });
  const lines = out.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
  // an annotated tag: the commit it peels to (`ref^{}`) is what is checked out
  const hit = lines.find((l) => l[1]?.endsWith('^{}')) ?? lines.find((l) => l[1] === ref || l[1] === `refs/heads/${ref}` || l[1] === `refs/tags/${ref}`) ?? lines[0];
  if (!hit) throw new TsbuildError(`git ref "${ref}" not found in ${op.url}`, { code: ErrorCodes.CONTEXT_NOT_FOUND, kind: 'not-found' });
  return hit[0];
}

export async function gitSnapshot(env: WorkerEnv, op: GitSource, ctx: RunContext): Promise<string> {
  const key = env.snapshots.newKey();
  let committed = false;
  try {
    await env.snapshots.prepare(key, undefined);
    const dir = env.snapshots.fsDir(key);
    const where = `fetching ${op.url}${op.ref ? ` at ${op.ref}` : ''}`;
    const opts = { cwd: dir, signal: ctx.signal };
    await git(['init', '-q'], where, opts);
    await git(['remote', 'add', 'origin', op.url], where, opts);
    const ref = op.ref || 'HEAD';
    try {
      await git(['fetch', '-q', '--depth', '1', '--no-tags', 'origin', ref], where, opts);
    } catch (e) {
      // a bare commit id is only fetchable where the server allows it; else fetch everything
      if (!commitRe.test(ref)) throw e;
      await git(['fetch', '-q', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'], where, opts);
    }
    await git(['checkout', '-q', '--detach', commitRe.test(ref) ? ref : 'FETCH_HEAD'], where, opts);
    if (!op.keepGitDir) await rm(join(dir, '.git'), { recursive: true, force: true });
    env.snapshots.commit(key, undefined);
    committed = true;
    return key;
  } finally {
    if (!committed) await env.snapshots.remove(key);
  }
}
