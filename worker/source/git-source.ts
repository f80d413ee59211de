// The git source (ADD <git url>): the repository at a ref, checked out with the system `git` into a
// new snapshot, shallow (depth 1) where the remote allows it, `.git` removed unless keepGitDir.
// Files are owned 0:0 with git's modes (0644, or 0755 for executables).
//
// Cache key: the commit the ref names now (`git ls-remote`), so a moved branch misses and a
// re-run on the same commit hits. The snapshot checks out that same commit, remembered for the
// build (in its session): if the branch moves between the two, key and content still agree (a
// remote that will not serve the commit by id gets the ref fetched and FETCH_HEAD checked against
// it). The next build asks the remote again, so it sees where the branch is then.
//
// Credentials: none of the host's. BuildKit uses an SSH identity only when given --ssh, so the
// host's agent (SSH_AUTH_SOCK), ~/.ssh keys and config, credential helpers and prompts are all cut
// off; GIT_* variables from the host (GIT_DIR, GIT_SSH, …) do not leak in either. Every
// user-controlled URL or ref comes after --end-of-options, so "--upload-pack=…" is only a name.
// Submodules and git-lfs are not fetched yet.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, TsbuildError } from '../../src/errors/index.ts';
import type { GitSource } from '../../src/llb/index.ts';
import type { BuildSession, RunContext, SessionSlot } from '../types.ts';
import type { WorkerEnv } from '../worker-env.ts';
import { withActiveSnapshot } from '../snapshot/with-active-snapshot.ts';

const run = promisify(execFile);
const commitRe = /^[0-9a-f]{40}$/;

// -F /dev/null: no ~/.ssh/config (its IdentityFile lines would count even with IdentitiesOnly);
// -i /dev/null: an identity that is no key, so ssh adds none of ~/.ssh/id_*; no agent either
const sshCommand = 'ssh -F /dev/null -o IdentitiesOnly=yes -i /dev/null -o IdentityAgent=none -o BatchMode=yes';

/** The environment git runs in: the host's minus anything that lends it credentials or redirects it. */
export function gitEnvironment(host: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(host)) if (!k.startsWith('GIT_') && k !== 'SSH_AUTH_SOCK' && k !== 'SSH_ASKPASS') env[k] = v;
  return {
    ...env,
    // no prompt for credentials (a build must never hang on one), and no host config leaking in
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_SSH_COMMAND: sshCommand,
    // ext:: would run a command; only the transports a build source URL names
    GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
  };
}

// credential.helper= empties the helper list, whatever config git still reads (the repo's own)
const noHelpers = ['-c', 'credential.helper='];

async function git(args: string[], what: string, opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<string> {
  try {
    const { stdout } = await run('git', [...noHelpers, ...args], { cwd: opts.cwd, env: gitEnvironment(process.env), signal: opts.signal, maxBuffer: 1 << 24 });
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
  const out = await git(['ls-remote', '--end-of-options', op.url, ref, `${ref}^{}`], `git ls-remote ${op.url}`, { signal });
  const lines = out.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
  // an annotated tag: the commit it peels to (`ref^{}`) is what is checked out
  const hit = lines.find((l) => l[1]?.endsWith('^{}')) ?? lines.find((l) => l[1] === ref || l[1] === `refs/heads/${ref}` || l[1] === `refs/tags/${ref}`) ?? lines[0];
  if (!hit) throw new TsbuildError(`git ref "${ref}" not found in ${op.url}`, { code: ErrorCodes.CONTEXT_NOT_FOUND, kind: 'not-found' });
  return hit[0];
}

export interface GitSources {
  /** The commit the op's ref names, asked of the remote once in this build (`session`). */
  resolve(op: GitSource, session: BuildSession, signal?: AbortSignal): Promise<string>;
  /** A committed snapshot of exactly the commit `resolve` gave in this build (resolving it now if not asked yet). */
  snapshot(op: GitSource, ctx: RunContext & { session: BuildSession }): Promise<string>;
}

/** One build's answers of the remotes: the commit of each url and ref. */
const buildCommits: SessionSlot<Map<string, Promise<string>>> = { create: () => new Map() };

export function createGitSources(env: WorkerEnv): GitSources {
  const resolve = (op: GitSource, session: BuildSession, signal?: AbortSignal) => {
    const commits = session.keep(buildCommits);
    const id = `${op.url}\0${op.ref ?? ''}`;
    let c = commits.get(id);
    if (!c) {
      c = resolveGitRef(op, signal);
      commits.set(id, c);
      // a failed lookup is retried by the next caller, not remembered
      c.catch(() => commits.delete(id));
    }
    return c;
  };
  return { resolve, snapshot: async (op, ctx) => gitSnapshot(env, op, await resolve(op, ctx.session, ctx.signal), ctx) };
}

async function gitSnapshot(env: WorkerEnv, op: GitSource, commit: string, ctx: RunContext): Promise<string> {
  return withActiveSnapshot(env.snapshots, undefined, (key) => checkoutInto(op, commit, env.snapshots.activeDir(key).dir, ctx.signal), { signal: ctx.signal });
}

/**
 * A build context from git (`tsbuild build https://host/repo.git#ref`): the commit `ref` names
 * now, checked out into the empty directory `dir` with the same cut-off credentials as ADD's git
 * source, `.git` removed. Resolves to the commit.
 */
export async function checkoutGitContext(url: string, ref: string | undefined, dir: string, signal?: AbortSignal): Promise<string> {
  const op: GitSource = { kind: 'source', source: 'git', url, ...(ref && { ref }) };
  const commit = await resolveGitRef(op, signal);
  await checkoutInto(op, commit, dir, signal);
  return commit;
}

async function checkoutInto(op: GitSource, commit: string, dir: string, signal: AbortSignal | undefined): Promise<void> {
  const ref = op.ref || 'HEAD';
  if (!commitRe.test(commit)) throw new TsbuildError(`git ref "${ref}" of ${op.url} resolved to "${commit}", not a commit id`, { code: ErrorCodes.INTERNAL, kind: 'internal' });
  const where = `fetching ${op.url}${op.ref ? ` at ${op.ref}` : ''}`;
  const opts = { cwd: dir, signal };
  await git(['init', '-q'], where, opts);
  await git(['remote', 'add', '--end-of-options', 'origin', op.url], where, opts);
  await fetchCommit(op, ref, commit, where, opts);
  // a 40-hex id (checked above), never an option: checkout takes no --end-of-options before it
  await git(['checkout', '-q', '--detach', commit], where, opts);
  if (!op.keepGitDir) await rm(join(dir, '.git'), { recursive: true, force: true });
}

/** Brings `commit` (what `ref` named when the key was made) into the repo at `opts.cwd`, or fails saying the ref moved. */
async function fetchCommit(op: GitSource, ref: string, commit: string, where: string, opts: { cwd: string; signal?: AbortSignal }): Promise<void> {
  try {
    // by id: most servers (protocol v2, GitHub, GitLab, file://) serve a reachable commit so
    await git(['fetch', '-q', '--depth', '1', '--no-tags', '--end-of-options', 'origin', commit], where, opts);
    return;
  } catch (e) {
    // a server that will not: fetch the ref by name and check it still names the commit
    if (commitRe.test(ref)) {
      await git(['fetch', '-q', '--tags', '--end-of-options', 'origin', '+refs/heads/*:refs/remotes/origin/*'], where, opts).catch(() => {
        throw e;
      });
      return;
    }
  }
  await git(['fetch', '-q', '--depth', '1', '--no-tags', '--end-of-options', 'origin', ref], where, opts);
  const fetched = (await git(['rev-parse', '--verify', '--end-of-options', 'FETCH_HEAD^{commit}'], where, opts)).trim();
  if (fetched !== commit) {
    throw new TsbuildError(`${where}: the ref moved during the build (the cache key was made for ${commit}, the remote now has ${fetched})`, {
      code: ErrorCodes.CONTEXT_NOT_FOUND,
      kind: 'precondition',
      hint: 'build again to use the new commit, or pin the ref to a commit id',
    });
  }
}
