// scripts/bundle-lazy-builtins.ts: the bundle requires Node's heavier modules on first use, with
// the same exports and the same lines (the source map still points at the right ones).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lazyRequires } from '../../scripts/bundle-lazy-builtins.ts';

// what esbuild writes for `import { request } from 'node:http'`, `import https from 'node:https'`,
// `promisify(execFile)` at a module's start, and a module left alone
const bundle = [
  'var __toESM = (mod) => ({ default: mod, ...mod });',
  'var import_node_http = require("node:http");',
  'var import_node_https = __toESM(require("node:https"), 1);',
  'var import_node_util = require("node:util");',
  'var import_node_child_process = require("node:child_process");',
  'var run = (0, import_node_util.promisify)(import_node_child_process.execFile);',
  'var import_node_path = require("node:path");',
  'exports.loaded = () => process.moduleLoadList.filter((m) => /^NativeModule (http|https|child_process)$/.test(m)).map((m) => m.slice(13));',
  'exports.use = async () => [typeof (0, import_node_http.request), import_node_https.default.Agent.name === "Agent", "globalAgent" in import_node_https.default, (await run("true")).stdout, import_node_path.join("a", "b")];',
  '//# sourceMappingURL=main.cjs.map',
  '',
].join('\n');

test('required on first use: the same exports, nothing loaded before, every line where it was', (t) => {
  const { text, changed } = lazyRequires(bundle);
  t.is(changed, 3);
  t.false(text.includes('require("node:http")'));
  t.true(text.includes('require("node:path")'), 'a module not in the list is left alone');
  const lines = text.split('\n');
  t.deepEqual(lines.slice(0, 5).map((l) => l.length), bundle.split('\n').slice(0, 5).map((l) => l.length), 'the same columns on the lines it changed');
  t.is(lines.at(-2), '//# sourceMappingURL=main.cjs.map', 'the source map comment stays last');
  // in a process of its own: this one has loaded http and child_process already
  const script = `const m = { exports: {} }; new Function('exports', 'require', 'module', ${JSON.stringify(text)})(m.exports, require, m);
    const before = m.exports.loaded();
    m.exports.use().then((used) => console.log(JSON.stringify({ before, used, after: m.exports.loaded() })));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { before: string[]; used: unknown[]; after: string[] };
  t.deepEqual(out.before, []);
  t.deepEqual(out.used, ['function', true, true, '', 'a/b']);
  t.deepEqual(out.after.sort(), ['child_process', 'http', 'https']);
});

test('a bundle without any of them is returned as it was', (t) => {
  const text = 'var import_node_fs = require("node:fs");\n';
  t.deepEqual(lazyRequires(text), { text, changed: 0 });
});

test('node:fs/promises: path functions from node:fs without loading it, the same results and errors; the rest from the real module', (t) => {
  // what esbuild writes for `import { stat, readFile, readdir, open } from 'node:fs/promises'` and a default import
  const fspBundle = [
    'var __toESM = (mod) => ({ default: mod, ...mod });',
    'var import_promises = require("node:fs/promises");',
    'var import_promises2 = __toESM(require("node:fs/promises"), 1);',
    'exports.loaded = () => process.moduleLoadList.includes("NativeModule internal/fs/promises");',
    'exports.use = async (dir) => {',
    '  const s = await (0, import_promises.stat)(dir);',
    '  await (0, import_promises.mkdir)(dir + "/a/b", { recursive: true });',
    '  const text = await import_promises2.default.readFile(__filename, "utf8");',
    '  const names = await (0, import_promises.readdir)(dir, { withFileTypes: true });',
    '  const missing = await (0, import_promises.stat)(dir + "/none").catch((e) => [e.code, e.syscall, e.path, e.message]);',
    '  const real = await (0, import_promises.realpath)(dir + "/a/../a");',
    '  const before = exports.loaded();',
    '  const h = await (0, import_promises.open)(__filename);',
    '  await h.close();',
    '  return { dir: s.isDirectory(), text: text.length > 0, names: names.map((d) => [d.name, d.isDirectory()]), missing, real, before, after: exports.loaded() };',
    '};',
    '//# sourceMappingURL=main.cjs.map',
    '',
  ].join('\n');
  const { text, changed } = lazyRequires(fspBundle);
  t.is(changed, 2);
  t.false(text.includes('require("node:fs/promises")'));
  t.deepEqual(text.split('\n').slice(0, 3).map((l) => l.length), fspBundle.split('\n').slice(0, 3).map((l) => l.length), 'the same columns on the lines it changed');
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-lazyfsp-'));
  try {
    const file = join(dir, 'main.cjs');
    writeFileSync(file, text);
    const script = `const m = { exports: {} }; new Function('exports', 'require', 'module', '__filename', ${JSON.stringify(text)})(m.exports, require, m, ${JSON.stringify(file)});
      const before = m.exports.loaded();
      m.exports.use(${JSON.stringify(dir)}).then((used) => console.log(JSON.stringify({ before, used })));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { before: boolean; used: { dir: boolean; text: boolean; names: [string, boolean][]; missing: unknown[]; real: string; before: boolean; after: boolean } };
    t.false(out.before);
    t.deepEqual(out.used, {
      dir: true,
      text: true,
      names: [['a', true], ['main.cjs', false]],
      missing: ['ENOENT', 'stat', join(dir, 'none'), `ENOENT: no such file or directory, stat '${join(dir, 'none')}'`],
      real: join(dir, 'a'),
      before: false,
      after: true,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
