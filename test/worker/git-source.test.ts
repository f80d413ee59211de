// S9: a git source uses none of the host's credentials, checks out the commit its cache key was
// made for, and never reads a user's ref or URL as an option.
import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitEnvironment } from '../../worker/source/git-source.ts';
import { createTestWorker, type TestWorker } from './_setup.ts';
import { gitOp, gitRepo, pushCommit } from './_git.ts';

const fsOf = (w: TestWorker, id: string, p = '') => join(w.root, 'snapshots', id, 'fs', p);

/** Puts executables named after the keys first on PATH for the test's duration. */
function onPath(t: { teardown(fn: () => void): void }, scripts: Record<string, string>): string {
  const bin = mkdtempSync(join(tmpdir(), 'tsbuild-bin-'));
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  t.teardown(() => {
    process.env.PATH = saved;
    rmSync(bin, { recursive: true, force: true });
  });
  return bin;
}

test('gitEnvironment drops the agent, askpass and host GIT_* variables and pins ssh to no identity', (t) => {
  const env = gitEnvironment({ PATH: '/bin', HOME: '/root', SSH_AUTH_SOCK: '/tmp/agent', SSH_ASKPASS: '/x', GIT_DIR: '/elsewhere', GIT_SSH: '/my/ssh', GIT_SSH_COMMAND: 'ssh -i ~/.ssh/deploy' });
  t.is(env.PATH, '/bin');
  t.is(env.SSH_AUTH_SOCK, undefined);
  t.is(env.SSH_ASKPASS, undefined);
  t.is(env.GIT_DIR, undefined);
  t.is(env.GIT_SSH, undefined);
  t.is(env.GIT_TERMINAL_PROMPT, '0');
  t.regex(env.GIT_SSH_COMMAND ?? '', /-o IdentitiesOnly=yes -i \/dev\/null .*-o BatchMode=yes/);
});

test.serial('S9: an ssh git URL runs ssh without the host agent or keys', async (t) => {
  const log = join(mkdtempSync(join(tmpdir(), 'tsbuild-ssh-')), 'ssh.log');
  t.teardown(() => rmSync(join(log, '..'), { recursive: true, force: true }));
  // a stand-in ssh: records what it was given, then fails as a refused login does
  onPath(t, { ssh: `echo "agent=$SSH_AUTH_SOCK args=$*" >> ${log}\necho 'Permission denied (publickey).' >&2\nexit 255` });
  const saved = process.env.SSH_AUTH_SOCK;
  process.env.SSH_AUTH_SOCK = '/tmp/host-agent.sock';
  t.teardown(() => (saved === undefined ? delete process.env.SSH_AUTH_SOCK : (process.env.SSH_AUTH_SOCK = saved)));
  const w = await createTestWorker();
  t.teardown(() => w.cleanup());
  const e = await t.throwsAsync(w.worker.openSession().resolveSource(gitOp('git@git.example.invalid:private.git')));
  t.regex(e?.message ?? '', /^git ls-remote git@git\.example\.invalid:private\.git failed: /);
  const seen = readFileSync(log, 'utf8');
  t.regex(seen, /^agent= args=.*-o IdentitiesOnly=yes -i \/dev\/null .*-o BatchMode=yes/m);
  t.notRegex(seen, /host-agent/);
});

test.serial('S9: a ref or URL that looks like an option is only a name', async (t) => {
  const { dir } = gitRepo();
  const pwned = join(dir, 'pwned');
  const w = await createTestWorker();
  t.teardown(async () => {
    await w.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const session = w.worker.openSession();
  await t.throwsAsync(session.resolveSource(gitOp(`file://${dir}/repo.git`, { ref: `--upload-pack=touch ${pwned}` })));
  await t.throwsAsync(session.resolveSource(gitOp(`--upload-pack=touch ${pwned}`)));
  await t.throwsAsync(w.worker.run(gitOp(`--upload-pack=touch ${pwned}`, { ref: 'a'.repeat(40) }), [], w.ctx));
  t.false(existsSync(pwned));
});

test.serial('S9: the snapshot holds the commit the cache key was made for, even when the branch moves in between', async (t) => {
  const { dir, commits } = gitRepo();
  const url = `file://${dir}/repo.git`;
  const w = await createTestWorker();
  t.teardown(async () => {
    await w.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const session = w.worker.openSession();
  t.is(await session.resolveSource(gitOp(url, { ref: 'main' })), commits[1]);
  const three = pushCommit(dir, 'three');
  const snap = await w.worker.run(gitOp(url, { ref: 'main', keepGitDir: true }), [], { ...w.ctx, session });
  t.is(readFileSync(fsOf(w, snap, 'README'), 'utf8'), 'two');
  await session.close();
  // the next build asks the remote again
  const next = w.worker.openSession();
  t.is(await next.resolveSource(gitOp(url, { ref: 'main' })), three);
  const moved = await w.worker.run(gitOp(url, { ref: 'main' }), [], { ...w.ctx, session: next });
  t.is(readFileSync(fsOf(w, moved, 'README'), 'utf8'), 'three');
  await next.close();
});

test.serial('S9: a remote that will not serve a commit by id: the ref is fetched and must still name the key commit', async (t) => {
  const { dir, commits } = gitRepo();
  const url = `file://${dir}/repo.git`;
  // a stand-in git that refuses fetching by id, as a protocol v0 server without allowReachableSHA1InWant does
  onPath(t, {
    git: `for a in "$@"; do case "$a" in fetch) f=1;; [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) [ -n "$f" ] && [ \${#a} -eq 40 ] && { echo "error: Server does not allow request for unadvertised object $a" >&2; exit 128; };; esac; done\nexec /usr/bin/git "$@"`,
  });
  const w = await createTestWorker();
  t.teardown(async () => {
    await w.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const ok = await w.worker.run(gitOp(url, { ref: 'v1' }), [], w.ctx);
  t.is(readFileSync(fsOf(w, ok, 'README'), 'utf8'), 'one', 'an annotated tag is checked against the commit it peels to');
  const session = w.worker.openSession();
  t.is(await session.resolveSource(gitOp(url, { ref: 'main' })), commits[1]);
  const three = pushCommit(dir, 'three');
  const e = await t.throwsAsync(w.worker.run(gitOp(url, { ref: 'main' }), [], { ...w.ctx, session }));
  t.is(e?.message, `fetching ${url} at main: the ref moved during the build (the cache key was made for ${commits[1]}, the remote now has ${three})`);
});
