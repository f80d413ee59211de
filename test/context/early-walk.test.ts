// The context's walk started by bin/tsbuild.js before the CLI loads: only for a `build` whose last
// argument is a directory the state root keeps a walk of, only with arguments of the shape
// startTreePrewalk makes, and taken over by the build only when it is the walk the build would start.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fstatSync, mkdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { earlyWalkArgs, earlyWalkKey, splitWalk, startEarlyWalk } from '../../bin/tsbuild.js';
import { discardEarlyWalk, forgetPrewalk, startTreePrewalk, takeEarlyWalk, type EarlyWalk } from '../../src/context/index.ts';
import { contextDir, tempDir } from '../_support/tsbuild.ts';

/** A context and a state root that has walked it once with `patterns` (so early.json names it). */
async function walkedOnce(t: { teardown(fn: () => void): void }, patterns: string[] = []) {
  const dir = contextDir({ 'Dockerfile': 'FROM scratch\n', 'src/a.js': 'a', 'node_modules/m/i.js': 'm' });
  const root = tempDir('tsbuild-root-');
  t.teardown(() => [dir, root].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const first = startTreePrewalk(dir, patterns, { stateRoot: root });
  const hash = await first.hash();
  first.dispose();
  return { dir, root, hash };
}

function started(t: { teardown(fn: () => void): void }, argv: string[], env: NodeJS.ProcessEnv = {}): EarlyWalk | undefined {
  const early = startEarlyWalk(argv, env) as EarlyWalk | undefined;
  t.teardown(() => discardEarlyWalk(early));
  return early;
}

test('a build of a directory the state root walked before starts that walk: the build takes it over and hashes its listing', async (t) => {
  const { dir, root, hash } = await walkedOnce(t, ['node_modules']);
  const args = earlyWalkArgs(['--root', root, 'build', '--progress', 'plain', '-t', 'app', dir], {});
  t.deepEqual(args, JSON.parse(readFileSync(join(root, 'context-walks', 'early.json'), 'utf8')).walks[dir]);
  t.true(args!.includes('-prune'), 'the .dockerignore\'s pruned tree is pruned here too');
  t.deepEqual(earlyWalkArgs(['build', dir], { TSBUILD_ROOT: root }), args, 'the root from $TSBUILD_ROOT');
  t.deepEqual(earlyWalkArgs([`--root=${root}`, '--config', '/x.toml', 'build', dir], {}), args);

  const early = startEarlyWalk(['--root', root, 'build', dir], {}) as EarlyWalk | undefined;
  t.truthy(early);
  // the handing over: the bundle's module graph takes it from the global, once; a start time no
  // walk started here can have tells which walk the build uses
  (globalThis as Record<symbol, unknown>)[earlyWalkKey] = { ...early!, startedMs: early!.startedMs - 60_000 };
  const taken = takeEarlyWalk();
  t.is(taken?.children, early!.children);
  t.is(takeEarlyWalk(), undefined, 'taken once');
  const walk = startTreePrewalk(dir, ['node_modules'], { early: taken, stateRoot: root });
  // the walk owns its file now: disposing it closes it
  t.teardown(() => walk.dispose());
  t.is(walk.startedMs, early!.startedMs - 60_000, 'the early walk is the one used');
  t.is(await walk.hash(), hash, 'its listing is the listing the build would make');
});

test('a walk other than the build\'s own (a .dockerignore that prunes otherwise) is stopped, and the build walks itself', async (t) => {
  const { dir, root } = await walkedOnce(t);
  const early = started(t, ['--root', root, 'build', dir]);
  t.truthy(early);
  const before = Date.now();
  const walk = startTreePrewalk(dir, ['node_modules'], { early, stateRoot: root });
  t.teardown(() => walk.dispose());
  t.true(walk.startedMs >= before, 'a walk of its own');
  t.true(early!.children.every((c) => c.killed || c.exitCode !== null), 'the early walk is stopped');
  const fresh = startTreePrewalk(dir, ['node_modules']);
  t.teardown(() => fresh.dispose());
  t.is(await walk.hash(), await fresh.hash());
  t.true(earlyWalkArgs(['--root', root, 'build', dir], {})!.includes('-prune'), 'the next build starts the walk this one made');
});

test('no early walk for anything but a build of a directory the state root keeps a walk of, nor for arguments that are not a plain walk', async (t) => {
  const { dir, root } = await walkedOnce(t);
  const file = join(root, 'context-walks', 'early.json');
  const none: [string, string[]][] = [
    ['another command', ['--root', root, 'images', dir]],
    ['help', ['--root', root, 'build', '--help', dir]],
    ['the context on stdin', ['--root', root, 'build', '-']],
    ['a git context', ['--root', root, 'build', 'https://example.com/repo.git']],
    ['the last argument an option', ['--root', root, 'build', dir, '--no-cache']],
    ['no context', ['--root', root, 'build']],
    ['another directory', ['--root', root, 'build', join(dir, 'src')]],
    ['another root', ['--root', join(root, 'other'), 'build', dir]],
  ];
  for (const [what, argv] of none) t.is(earlyWalkArgs(argv, {}), undefined, what);
  t.truthy(earlyWalkArgs(['--root', root, 'build', dir], {}));
  const tampered: [string, string[]][] = [
    ['-delete', ['-H', dir, '-delete', '-printf', '%y %m %U %G %D %i %s %T@ %C@ %P\\0']],
    ['-exec', ['-H', dir, '(', '-name', 'x', ')', '-prune', '-o', '-exec', 'rm', '{}', ';', '-printf', '%y %m %U %G %D %i %s %T@ %C@ %P\\0']],
    ['another directory', ['-H', '/', '-printf', '%y %m %U %G %D %i %s %T@ %C@ %P\\0']],
    ['another format', ['-H', dir, '-printf', '%p\\n']],
  ];
  for (const [what, args] of tampered) {
    writeFileSync(file, JSON.stringify({ walks: { [dir]: args } }));
    t.is(earlyWalkArgs(['--root', root, 'build', dir], {}), undefined, what);
  }
  writeFileSync(file, '{"walks": [');
  t.is(earlyWalkArgs(['--root', root, 'build', dir], {}), undefined, 'a damaged file');
  const { dir: dir2, root: root2 } = await walkedOnce(t);
  forgetPrewalk(root2, dir2);
  t.is(earlyWalkArgs(['--root', root2, 'build', dir2], {}), undefined, 'a walk forgotten (too big for its reads)');
});

/** The paths the walk's listings name (relative to the start of each find's part), once its finds ended. */
async function listed(walk: EarlyWalk): Promise<string[]> {
  await walk.exited;
  const text = walk.head + walk.fds.map((fd) => {
    const buf = Buffer.alloc(fstatSync(fd).size);
    readSync(fd, buf, 0, buf.length, 0);
    return buf.toString();
  }).join('');
  return text.split('\0').filter(Boolean).map((line) => line.split(' ').slice(9).join(' '));
}

test('a tree with 8 or more directories at some depth is walked by the bin and two finds that list every entry between them, and its hash follows every change', async (t) => {
  const files: Record<string, string> = { 'Dockerfile': 'FROM scratch\n', 'top.txt': 't', 'node_modules/m/i.js': 'm' };
  for (let i = 0; i < 10; i++) for (let j = 0; j < 3; j++) files[`src/pkg-${i}/mod-${j}/f.ts`] = `${i}${j}`;
  files['src/pkg-3/.cache/c'] = 'c';
  const dir = contextDir(files);
  const root = tempDir('tsbuild-root-');
  t.teardown(() => [dir, root].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const patterns = ['node_modules', '**/.cache'];
  const whole = startTreePrewalk(dir, patterns, { stateRoot: root });
  t.teardown(() => whole.dispose());
  const argv = ['--root', root, 'build', dir];
  const { head, parts } = splitWalk(earlyWalkArgs(argv, {})!)!;
  t.is(parts.length, 2);
  const top = head.split('\0').filter(Boolean).map((line) => line.split(' ').slice(9).join(' '));
  t.deepEqual(top, ['', 'Dockerfile', 'src', 'top.txt', ...Array.from({ length: 10 }, (_, i) => `src/pkg-${i}`)], 'the tree down to src/pkg-*, the first depth with 8 directories, listed by the bin; node_modules pruned');
  t.deepEqual(parts.flatMap((p) => p.filter((a) => a.startsWith(`${dir}/src/`))).sort(), top.slice(4).map((p) => `${dir}/${p}`), 'each src/pkg-* below it, in one of two finds');
  t.true(parts.every((p) => p.includes('-prune')), 'every part prunes what the walk prunes');

  const walk = () => {
    const w = startEarlyWalk(argv, {}) as EarlyWalk;
    t.teardown(() => discardEarlyWalk(w));
    t.is(w.fds.length, 2);
    return w;
  };
  const names = await listed(walk());
  t.true(names.includes('src/pkg-9') && names.includes('top.txt') && names.includes('mod-2/f.ts'));
  t.false(names.some((n) => n.includes('node_modules') || n.includes('.cache')), 'pruned trees not walked');
  const one = spawnSync('/usr/bin/find', earlyWalkArgs(argv, {})!, { encoding: 'utf8' });
  t.is(names.length, one.stdout.split('\0').filter(Boolean).length + 10, 'every entry one find lists, and each split directory again at the head of its part');

  const hashOf = async () => {
    const w = startTreePrewalk(dir, patterns, { early: walk() });
    t.teardown(() => w.dispose());
    return w.hash();
  };
  const first = await hashOf();
  t.truthy(first);
  t.is(await hashOf(), first, 'an unchanged tree: the same hash');
  writeFileSync(join(dir, 'src/pkg-7/mod-1/f.ts'), '7!');
  const edited = await hashOf();
  t.not(edited, first, 'an edit below a split directory');
  writeFileSync(join(dir, 'src/pkg-2/mod-0/new.ts'), 'n');
  const added = await hashOf();
  t.not(added, edited, 'a file added below a split directory');
  mkdirSync(join(dir, 'src/pkg-new'));
  writeFileSync(join(dir, 'src/pkg-new/f.ts'), 'n');
  const newDir = await hashOf();
  t.not(newDir, added, 'a directory added at the split depth');
  writeFileSync(join(dir, 'src/pkg-new/f.ts'), 'N');
  t.not(await hashOf(), newDir, 'and a change below it');
  const before = await hashOf();
  writeFileSync(join(dir, 'top.txt'), 'T');
  t.not(await hashOf(), before, 'an edit above the split (the bin\'s own listing)');
  writeFileSync(join(dir, 'src/pkg-3/.cache/c'), 'pruned');
  const again = await hashOf();
  t.is(await hashOf(), again);
});
