import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumSources, createIgnoreMatcher, expandSources, readDockerignore } from '../../src/context/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { contextDir } from '../_support/tsbuild.ts';


test('expandSources: wildcards, classes, and no escaping the root', (t) => {
  const dir = contextDir({ 'a1.txt': '', 'a2.txt': '', 'b.txt': '', 'src/x.c': '', 'src/y.h': '' });
  try {
    t.deepEqual(expandSources(dir, ['/a?.txt'], []), ['a1.txt', 'a2.txt']);
    t.deepEqual(expandSources(dir, ['[ab]*.txt'], ['a2.txt']), ['a1.txt', 'b.txt']);
    t.deepEqual(expandSources(dir, ['src/*.c', '../../src/y.h'], []), ['src/x.c', 'src/y.h']);
    t.deepEqual(expandSources(dir, ['.'], []), ['.']);
    t.deepEqual(expandSources(dir, ['*.none'], [], { allowWildcardEmpty: true }), []);
    t.throws(() => expandSources(dir, ['*.none'], []), { message: '"*.none" matched no files in the build context' });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('names with glob characters as fsutil reads them: literal without an unescaped * ? [, Go patterns otherwise (issue 13)', (t) => {
  const dir = contextDir({ 'back\\slash.txt': '', 'a*b': '', 'aXb': '', '[x]': '', x: '', 'q?': '', qz: '', 'd\\e/f*.txt': '', 'd\\e/f1.txt': '' });
  try {
    t.deepEqual(expandSources(dir, ['back\\slash.txt'], []), ['back\\slash.txt'], 'a backslash without a wildcard is a plain character');
    t.deepEqual(expandSources(dir, ['a*b'], []), ['a*b', 'aXb']);
    // no unescaped wildcard: the literal path, backslash and all, and missing is an error even where empty wildcards are fine
    t.throws(() => expandSources(dir, ['a\\*b'], [], { allowWildcardEmpty: true }), { message: '"a\\*b" not found in the build context' });
    t.deepEqual(expandSources(dir, ['[x]'], []), ['x'], 'a class matches x, not the name [x]');
    t.deepEqual(expandSources(dir, ['\\[x]*'], []), ['[x]'], 'an escaped bracket matches itself');
    t.deepEqual(expandSources(dir, ['q?'], []), ['q?', 'qz']);
    t.deepEqual(expandSources(dir, ['d\\e/f?.txt'], []), ['d\\e/f*.txt', 'd\\e/f1.txt'], 'the literal prefix keeps its backslash');
    t.throws(() => expandSources(dir, ['[y'], [], { allowWildcardEmpty: true }), { message: '"[y": syntax error in pattern "[y"' });
    t.throws(() => expandSources(dir, ['missing/*.txt'], [], { allowWildcardEmpty: true }), { message: '"missing/*.txt": "missing" not found in the build context' });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a missing source suggests the closest path; an ignored one says so', (t) => {
  const dir = contextDir({ 'src/main.c': '', 'app/.env': '' });
  try {
    const e = t.throws(() => expandSources(dir, ['src/mian.c'], []));
    t.true(isTsbuildError(e) && e.code === 'COPY_SOURCE_NOT_FOUND' && e.hint === 'did you mean "src/main.c"?');
    t.is(e?.message, '"src/mian.c" not found in the build context');
    t.throws(() => expandSources(dir, ['app/.env'], ['**/.env']), { message: '"app/.env" is excluded by .dockerignore pattern "**/.env"' });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('checksumSources ignores mtimes and sees content, mode and selection changes', async (t) => {
  const dir = contextDir({ 'app/a.js': 'a', 'app/b.js': 'b', 'other.txt': 'o', 'app/node_modules/x': 'x' });
  try {
    const key = () => checksumSources(dir, ['app'], ['app/node_modules']);
    const k1 = await key();
    utimesSync(join(dir, 'app/a.js'), 12345, 12345);
    t.is(await key(), k1);
    writeFileSync(join(dir, 'other.txt'), 'changed');
    t.is(await key(), k1, 'files outside the selection do not count');
    writeFileSync(join(dir, 'app/node_modules/x'), 'changed');
    t.is(await key(), k1, 'ignored files do not count');
    chmodSync(join(dir, 'app/a.js'), 0o755);
    const k2 = await key();
    t.not(k2, k1);
    writeFileSync(join(dir, 'app/b.js'), 'B');
    t.not(await key(), k2);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('ignore patterns follow .dockerignore semantics, Dockerfile.dockerignore wins', async (t) => {
  const m = createIgnoreMatcher(['*.log', '!keep.log', 'build/', '**/*.tmp']);
  t.true(m.ignores('x.log'));
  t.false(m.ignores('keep.log'));
  t.true(m.ignores('build'));
  t.true(m.ignores('a/b/c.tmp'));
  t.false(m.ignores('a/x.log'));
  const dir = contextDir({ '.dockerignore': '# comment\nnode_modules\n\n', 'sub/Dockerfile.dockerignore': 'dist\n' });
  try {
    t.deepEqual(await readDockerignore(dir), ['node_modules']);
    t.deepEqual(await readDockerignore(dir, join(dir, 'sub/Dockerfile')), ['dist']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('checksumSources walks an excluded dir for ! exceptions: only re-included files move the key', async (t) => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-sum-'));
  try {
    mkdirSync(join(dir, 'build'), { recursive: true });
    writeFileSync(join(dir, 'build/keep.txt'), 'k');
    writeFileSync(join(dir, 'build/out.o'), 'o');
    const patterns = ['build', '!build/keep.txt'];
    const before = await checksumSources(dir, ['/'], patterns);
    writeFileSync(join(dir, 'build/out.o'), 'o2');
    t.is(await checksumSources(dir, ['/'], patterns), before, 'an excluded file does not count');
    writeFileSync(join(dir, 'build/keep.txt'), 'k2');
    t.not(await checksumSources(dir, ['/'], patterns), before, 'a re-included one does');
    t.truthy(await checksumSources(dir, ['/build'], patterns), 'an excluded dir with exceptions may be named as a source');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an excluded source names the .dockerignore line that excludes it', async (t) => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readDockerignoreFile } = await import('../../src/context/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'ctx-'));
  try {
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', '.env'), 'SECRET=1');
    writeFileSync(join(dir, 'app', 'keep.env'), 'x');
    writeFileSync(join(dir, '.dockerignore'), '# local settings stay local\n*.md\nsecrets-only/**\napp/*.env\n!app/keep.env\n');
    const { patterns, origins } = await readDockerignoreFile(dir);
    t.throws(() => expandSources(dir, ['app/.env'], patterns, { patternOrigins: origins }), { message: '"app/.env" is excluded by .dockerignore line 4 ("app/*.env")' });
    t.throws(() => expandSources(dir, ['app/.env'], patterns), { message: '"app/.env" is excluded by .dockerignore pattern "app/*.env"' }, 'origins are per read: none given, none shown');
    t.deepEqual(expandSources(dir, ['app/keep.env'], patterns), ['app/keep.env'], 'a "!" exception re-includes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
