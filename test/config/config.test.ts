// The config file: found in the state root or under $XDG_CONFIG_HOME, read with a TOML library,
// and wrong in ways the error names (file, line, key).
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { isTsbuildError } from '../../src/errors/index.ts';
import { removeDir, tempDir } from '../_support/tsbuild.ts';

function setup(files: Record<string, string>) {
  const dir = tempDir('tsbuild-config-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { dir, root: join(dir, 'root'), env: { XDG_CONFIG_HOME: join(dir, 'xdg') } };
}

test('no file: no defaults', async (t) => {
  const s = setup({});
  t.deepEqual(await loadConfig(s.root, s.env), { path: undefined, limits: {} });
  removeDir(s.dir);
});

test('the state root\'s file wins over $XDG_CONFIG_HOME\'s; numbers and strings both read', async (t) => {
  const s = setup({
    'root/tsbuild.toml': '[limits]\nmemory = "2g"\ncpus = 1.5\npids-limit = 4096\nulimits = ["nofile=1024:2048"]\n',
    'xdg/tsbuild/tsbuild.toml': '[limits]\nmemory = "1g"\n',
  });
  const read = await loadConfig(s.root, s.env);
  t.is(read.path, join(s.root, 'tsbuild.toml'));
  t.deepEqual(read.limits, { memory: '2g', cpus: '1.5', pidsLimit: '4096', ulimits: ['nofile=1024:2048'] });
  t.deepEqual(read.settings?.map((x) => [x.key, x.line]), [['limits.memory', 2], ['limits.cpus', 3], ['limits.pids-limit', 4], ['limits.ulimits', 5]]);
  const xdgOnly = setup({ 'xdg/tsbuild/tsbuild.toml': '[limits]\nshm-size = "256m"\n' });
  t.deepEqual((await loadConfig(xdgOnly.root, xdgOnly.env)).limits, { shmSize: '256m' });
  removeDir(s.dir);
  removeDir(xdgOnly.dir);
});

test('a broken file names itself, the line and the key', async (t) => {
  const cases: [string, RegExp][] = [
    ['[limits]\nmemory = \n', /tsbuild\.toml:2: Invalid TOML document/],
    ['[limits]\nmemroy = "1g"\n', /tsbuild\.toml:2: unknown key "limits\.memroy"$/],
    ['[limit]\nmemory = "1g"\n', /tsbuild\.toml:1: unknown table "limit"$/],
    ['[limits]\nulimits = "nofile=1"\n', /tsbuild\.toml:2: limits\.ulimits must be a list$/],
    ['[limits]\nulimits = [1]\n', /tsbuild\.toml:2: limits\.ulimits\.0 must be a string$/],
    ['[limits]\nmemory = true\n', /tsbuild\.toml:2: limits\.memory must be a string or a whole number$/],
    ['limits = 3\n', /tsbuild\.toml:1: limits must be a table \(\[limits\]\)$/],
    ['[build]\nnetwork = "bridge"\n', /tsbuild\.toml:2: build\.network must be one of "default", "sandbox", "none", "host"$/],
    ['[build]\nmax-parallelism = 0\n', /tsbuild\.toml:2: build\.max-parallelism must be >= 1$/],
    ['\n\n[gc]\n# why\n  "enabled" = 1\n', /tsbuild\.toml:5: gc\.enabled must be true or false$/],
  ];
  for (const [text, message] of cases) {
    const s = setup({ 'root/tsbuild.toml': text });
    const err = await t.throwsAsync(loadConfig(s.root, s.env));
    t.true(isTsbuildError(err) && err.code === 'CONFIG_INVALID', text);
    t.regex(err?.message ?? '', message);
    removeDir(s.dir);
  }
});

test('[gc]: keep-storage as a size or bytes, enabled; a bad value names the key', async (t) => {
  const s = setup({ 'root/tsbuild.toml': '[gc]\nkeep-storage = "20GB"\nenabled = true\n' });
  t.deepEqual((await loadConfig(s.root, s.env)).gc, { keepStorage: 20 * 1024 ** 3, enabled: true });
  writeFileSync(join(s.root, 'tsbuild.toml'), '[limits]\nmemory = "1g"\n[gc]\nkeep-storage = 5000000\n');
  const both = await loadConfig(s.root, s.env);
  t.deepEqual(both.gc, { keepStorage: 5_000_000 });
  t.deepEqual(both.limits, { memory: '1g' });
  for (const [text, message] of [
    ['[gc]\nkeep-storage = "lots"\n', /gc\.keep-storage "lots" is not a size/],
    ['[gc]\nenabled = "yes"\n', /gc\.enabled must be true or false/],
    ['[gc]\nkeepstorage = "1g"\n', /unknown key "gc\.keepstorage"/],
  ] as const) {
    writeFileSync(join(s.root, 'tsbuild.toml'), text);
    const e = await t.throwsAsync(loadConfig(s.root, s.env), { message });
    t.true(isTsbuildError(e) && e.code === 'CONFIG_INVALID');
  }
  removeDir(s.dir);
});

test('docs/config.md lists every key the schema declares', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { configSchema } = await import('../../src/config/schema.ts');
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  for (const [table, schema] of Object.entries(configSchema.properties)) {
    const keys = 'properties' in schema ? Object.keys(schema.properties).map((k) => `${table}.${k}`) : [table];
    for (const key of keys) t.true(doc.includes(`| \`${key}\` |`), key);
  }
});
