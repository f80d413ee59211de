// scripts/bundle-lazy-builtins.ts: the bundle requires Node's heavier modules on first use, with
// the same exports and the same lines (the source map still points at the right ones).
import test from 'ava';
import { spawnSync } from 'node:child_process';
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
