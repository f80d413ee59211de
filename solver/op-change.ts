// What changed between two versions of one step's op, as a reader of the Dockerfile names it:
// "build-arg VERSION changed", "base image digest changed (sha256:ab12… → sha256:cd34…)",
// "command changed". The ops are compared as the cache key saw them (describeOp's keyedOp), field
// by field; this file knows field names, never op kinds (test/solver/no-op-kinds.test.ts).
import { canonicalJson, sha256Digest } from '../src/llb/index.ts';

// Most ops are a few hundred bytes; a RUN with a long heredoc or a COPY of a generated file
// (mkfile) can be large. Past `wholeLimit` long strings are kept as their digest (a changed one
// still shows as changed); past `keptLimit` nothing is kept and the miss says less.
const wholeLimit = 16 * 1024;
const keptLimit = 64 * 1024;
const longString = 256;

/** The keyed op as kept with its result: canonical JSON, bounded. */
export function boundedOpJson(keyedOp: unknown): string | undefined {
  const whole = canonicalJson(keyedOp);
  if (whole.length <= wholeLimit) return whole;
  const short = canonicalJson(shortenStrings(keyedOp));
  return short.length <= keptLimit ? short : undefined;
}

function shortenStrings(v: unknown): unknown {
  if (typeof v === 'string') return v.length > longString ? sha256Digest(v) : v;
  if (Array.isArray(v)) return v.map(shortenStrings);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shortenStrings(x)]));
  return v;
}

// The words a Dockerfile's reader knows for an op's fields
const fieldNames: Readonly<Record<string, string>> = {
  args: 'command',
  cwd: 'WORKDIR',
  user: 'USER',
  mounts: 'RUN --mount options',
  extraHosts: '--add-host',
  security: 'RUN --security',
  network: 'RUN --network',
  ref: 'image reference',
  platform: 'platform',
  url: 'URL',
  checksum: 'ADD --checksum',
  actions: 'the instruction (sources, destination or options)',
  base: 'the instruction (its base)',
  name: 'build context name',
  excludePatterns: '.dockerignore patterns',
};

/**
 * The differences between two keyed ops, one phrase each. `buildArgs`: names of the stage's ARGs,
 * so an environment variable an ARG set is named as a build-arg.
 */
export function describeOpChange(beforeJson: string | undefined, afterJson: string | undefined, buildArgs: readonly string[] = []): string[] {
  if (beforeJson === undefined || afterJson === undefined) return ['the instruction changed'];
  if (beforeJson === afterJson) return ["tsbuild's cache key version changed"];
  const before = JSON.parse(beforeJson) as Record<string, unknown>;
  const after = JSON.parse(afterJson) as Record<string, unknown>;
  const out: string[] = [];
  for (const field of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[field];
    const b = after[field];
    if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) continue;
    if (isEnv(a) && isEnv(b)) out.push(...envChanges(a, b, buildArgs));
    else if (field === 'digest' && typeof a === 'string' && typeof b === 'string') out.push(`base image digest changed (${shortDigest(a)} → ${shortDigest(b)})`);
    else out.push(`${fieldNames[field] ?? `"${field}"`} changed`);
  }
  return out.length > 0 ? out : ['the instruction changed'];
}

const envEntry = /^[^=]+=/s;
const isEnv = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && envEntry.test(x));

function envChanges(before: readonly string[], after: readonly string[], buildArgs: readonly string[]): string[] {
  const map = (list: readonly string[]) => new Map(list.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const a = map(before);
  const b = map(after);
  const args = new Set(buildArgs);
  const out: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(name) === b.get(name)) continue;
    // values are not shown: a build-arg may hold what its owner would not print
    const what = `${args.has(name) ? 'build-arg' : 'ENV'} ${name}`;
    out.push(!a.has(name) ? `${what} added` : !b.has(name) ? `${what} removed` : `${what} changed`);
  }
  return out;
}

const shortDigest = (d: string) => (/^sha256:[0-9a-f]{64}$/.test(d) ? `${d.slice(0, 19)}…` : d);
