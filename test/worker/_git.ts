// A local git remote for the git source tests: a bare repo with two commits on main, the first
// tagged v1 (annotated), and a way to add more.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitSource } from '../../src/llb/index.ts';

export function gitRepo(): { dir: string; commits: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-git-'));
  const g = (...args: string[]) => execFileSync('git', ['-C', join(dir, 'work'), ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).trim();
  execFileSync('git', ['init', '-q', '-b', 'main', join(dir, 'work')]);
  writeFileSync(join(dir, 'work/README'), 'one');
  writeFileSync(join(dir, 'work/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  g('add', '.');
  g('commit', '-qm', 'one');
  g('tag', '-a', 'v1', '-m', 'v1');
  const first = g('rev-parse', 'HEAD');
  writeFileSync(join(dir, 'work/README'), 'two');
  g('commit', '-qam', 'two');
  const second = g('rev-parse', 'HEAD');
  execFileSync('git', ['clone', '-q', '--bare', join(dir, 'work'), join(dir, 'repo.git')]);
  return { dir, commits: [first, second] };
}

export const gitOp = (url: string, extra: Partial<GitSource> = {}): GitSource => ({ kind: 'source', source: 'git', url, ...extra });

/** A new commit on main (README = `content`) pushed to the bare repo; its id. */
export function pushCommit(dir: string, content: string): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
  const g = (...args: string[]) => execFileSync('git', ['-C', join(dir, 'work'), ...args], { encoding: 'utf8', env }).trim();
  writeFileSync(join(dir, 'work/README'), content);
  g('commit', '-qam', content);
  g('push', '-q', join(dir, 'repo.git'), 'main');
  return g('rev-parse', 'HEAD');
}
