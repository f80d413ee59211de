// Node's own modules, required by the bundle only when first used. esbuild puts each module's
// `require("node:http")` where the module starts, so a no-change rebuild loaded HTTP and TLS (for
// the registry client and ADD), child_process (commander, the sandbox), zlib and readline although
// it calls none of them: ~10 ms of every start (stop 19, cli/cli-bundle.ts). Each such require
// becomes `lazyreq("node:http")`, an object that requires the module on its first property read;
// esbuild reads a builtin's exports at the call (`(0, import_node_http.request)(…)`), so nothing
// else changes. `__toESM(…)` (a default import) becomes `lazyesm(…)`, whose `default` is that object.
// Both names are as long as the ones they replace, so the source map's columns still hold.
//
// A read at a module's start loads the module there, which is correct, only not lazy; the one such
// read the bundle has many of, `promisify(execFile)`, is made on the first call instead
// (`lazypro`; those lines' columns move, lines at a module's start that throw nothing).
//
// node:fs/promises is used by a no-change rebuild (stat, readFile, readdir, mkdir), but loading it
// costs ~2 ms: it brings readline's Interface, the REPL's history and the file watchers along. So
// `require("node:fs/promises")` becomes `lazyfsp(…)` (as long): its path-taking functions are
// node:fs's callback ones promisified (the same bindings, results and errors; realpath is the
// native one, as fs/promises' is), and anything else (open and its FileHandle, opendir, cp,
// writeFile of a stream, a FileHandle instead of a path) is the real module's, loaded then.
export const lazyBuiltins = ['child_process', 'http', 'https', 'zlib', 'readline/promises', 'net', 'tls', 'dns', 'timers/promises', 'worker_threads', 'tty', 'v8'] as const;

// fs/promises functions that take a path first and whose callback twin in node:fs takes the same
// arguments and gives the same result (not writeFile or appendFile: theirs take streams too)
export const fspCallbackNames = ['access', 'chmod', 'chown', 'copyFile', 'lchown', 'link', 'lstat', 'mkdir', 'mkdtemp', 'readdir', 'readFile', 'readlink', 'realpath', 'rename', 'rm', 'rmdir', 'stat', 'statfs', 'symlink', 'truncate', 'unlink', 'utimes'] as const;

// declarations, hoisted: placed last so that no line of the bundle moves
const helpers = [
  // a module's stand-in: every access goes to `real()`, except reads when `get` is given
  'function lazyproxy(real, get) {',
  '  return new Proxy({}, {',
  '    get: get ?? ((_, k) => real()[k]),',
  '    set: (_, k, v) => ((real()[k] = v), true),',
  '    has: (_, k) => k in real(),',
  '    ownKeys: () => Reflect.ownKeys(real()),',
  '    getOwnPropertyDescriptor: (_, k) => { const d = Reflect.getOwnPropertyDescriptor(real(), k); return d && { ...d, configurable: true }; },',
  '  });',
  '}',
  'function lazyreq(id) {',
  '  let m;',
  '  return lazyproxy(() => (m ??= require(id)));',
  '}',
  'function lazypro(make) {',
  '  let f;',
  '  return function (...args) { return (f ??= make()).apply(this, args); };',
  '}',
  'function lazyfsp(id) {',
  '  let m;',
  '  const real = () => (m ??= require(id));',
  '  const made = new Map();',
  '  const quick = (name) => {',
  '    const fs = require("node:fs");',
  '    const p = require("node:util").promisify(name === "realpath" ? fs.realpath.native : fs[name]);',
  '    return function (path, ...rest) { return typeof path === "string" ? p(path, ...rest) : real()[name](path, ...rest); };',
  '  };',
  `  const quickNames = /^(${fspCallbackNames.join('|')})$/;`,
  '  return lazyproxy(real, (_, k) => typeof k === "string" && quickNames.test(k) ? made.get(k) ?? made.set(k, quick(k)).get(k) : real()[k]);',
  '}',
  'function lazyesm(mod) {',
  '  return new Proxy({}, { get: (_, k) => (k === "default" ? mod : mod[k]), has: (_, k) => k === "default" || k in mod });',
  '}',
].join('\n');

// esbuild's names for a builtin's import: `import_node_child_process12`, `import_node_zlib`
const lazyNames = new RegExp(`^import_node_(${lazyBuiltins.map((m) => m.replace('/', '_')).join('|')})\\d*$`);

/** The bundle's text with `lazyBuiltins` required on first use, and how many requires changed. */
export function lazyRequires(text: string): { text: string; changed: number } {
  let changed = 0;
  const names = lazyBuiltins.map((m) => m.replace('/', '\\/')).join('|');
  const requires = new RegExp(`(__toESM\\()?require\\("node:(${names})"\\)`, 'g');
  let out = text.replace(requires, (_, esm: string | undefined, name: string) => {
    changed++;
    return `${esm ? 'lazyesm(' : ''}lazyreq("node:${name}")`;
  });
  out = out.replace(/(__toESM\()?require\("node:fs\/promises"\)/g, (_, esm: string | undefined) => {
    changed++;
    return `${esm ? 'lazyesm(' : ''}lazyfsp("node:fs/promises")`;
  });
  if (changed === 0) return { text, changed };
  // `(0, import_node_util3.promisify)(import_node_child_process2.execFile)` at a module's start
  out = out.replace(/\(0, (import_node_util\d*)\.promisify\)\((import_node_\w+)\.(\w+)\)/g, (call, util: string, mod: string, name: string) =>
    lazyNames.test(mod) ? `lazypro(() => (0, ${util}.promisify)(${mod}.${name}))` : call,
  );
  // before the source map's comment, which stays the last line
  const map = out.lastIndexOf('\n//# sourceMappingURL=');
  out = map < 0 ? `${out}\n${helpers}\n` : `${out.slice(0, map)}\n${helpers}${out.slice(map)}`;
  return { text: out, changed };
}
