// .dockerignore semantics, shared by the worker (what a copy reads) and the solver (what a cache
// key hashes): both must agree exactly, so both use this one matcher.
import dockerignore, { type Ignore } from '@balena/dockerignore';
import { basename, dirname, join } from 'node:path';
import v8 from 'node:v8';
import { readFileInRoot } from './read-bounded.ts';

// CommonJS with a `default` property: Node's and TypeScript's views differ on which is the function
const ignoreFactory = ((dockerignore as unknown as { default?: unknown }).default ?? dockerignore) as unknown as (o: { ignorecase: boolean }) => Ignore;
// case-sensitive, as Docker's matcher (Go's filepath.Match) is on Linux; the library defaults to
// ignoring case, which also keeps V8 from moving a runaway pattern to its linear engine
const ignore = () => ignoreFactory({ ignorecase: false });

export interface IgnoreMatcher {
  /** Whether the context-relative path (no leading '/') is excluded. */
  ignores(relPath: string): boolean;
  /** True when some pattern re-includes (`!pattern`), so an excluded dir may still hold included files. */
  readonly hasExceptions: boolean;
}

let linearFallback = false;
const fallbackFlag = '--enable-experimental-regexp-engine-on-excessive-backtracks';
const backtrackFlag = '--regexp-backtracks-before-fallback';

/**
 * The matcher turns each pattern into a regular expression, as Docker's does, but Go's engine is
 * linear and V8's backtracks: `**\/**\/…/x` (77 bytes) or `*a*a*a…b` took minutes per path and
 * ignored SIGTERM. V8 switches a regexp that backtracks too much to its linear engine when told to;
 * set once, before the first pattern is compiled, and only here.
 */
function useLinearFallback(): void {
  if (linearFallback) return;
  linearFallback = true;
  // (V8 checks a hash of its flags against a code cache: cli/cli-bundle.ts puts both back before
  // it writes the CLI's, or every later start would reject it)
  v8.setFlagsFromString(fallbackFlag);
  // a real pattern against a real path backtracks a few hundred times at most
  v8.setFlagsFromString(`${backtrackFlag}=100000`);
}

export function createIgnoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  // no patterns, nothing ignored: skips the matcher's work for each of a big context's entries
  if (patterns.length === 0) return { ignores: () => false, hasExceptions: false };
  useLinearFallback();
  const ig = ignore().add([...patterns]);
  return {
    ignores: (relPath) => relPath !== '' && relPath !== '.' && ig.ignores(relPath),
    hasExceptions: patterns.some((p) => p.trim().startsWith('!')),
  };
}

/** Where a .dockerignore pattern was written, so "excluded by .dockerignore" can name the line. */
export interface PatternOrigin {
  file: string;
  line: number;
}

/**
 * Patterns travel through ops as plain strings (they are part of digests), so their origins travel
 * beside them, per read: the build that read the file passes them to what may report an exclusion.
 */
export type PatternOrigins = ReadonlyMap<string, PatternOrigin>;

/** A .dockerignore as read: its patterns, and the line each was first written on. */
export interface Dockerignore {
  patterns: string[];
  origins: PatternOrigins;
}

/** The patterns of a .dockerignore text (comments and blank lines dropped) and where each was written in `file`. */
export function parseDockerignore(text: string, file = '.dockerignore'): Dockerignore {
  const patterns: string[] = [];
  const origins = new Map<string, PatternOrigin>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    patterns.push(l);
    if (!origins.has(l)) origins.set(l, { file, line: i + 1 });
  });
  return { patterns, origins };
}

/** The pattern that decides `relPath` is excluded (the last one matching), with where it was written when `origins` knows. */
export function excludingPattern(patterns: readonly string[], relPath: string, origins?: PatternOrigins): { pattern: string; file?: string; line?: number } | undefined {
  let decided: string | undefined;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const body = negated ? p.slice(1) : p;
    useLinearFallback();
    if (ignore().add([body]).ignores(relPath)) decided = negated ? undefined : p;
  }
  return decided === undefined ? undefined : { pattern: decided, ...origins?.get(decided) };
}

// 1 MiB: tens of thousands of patterns, each matched against every file of the context; a
// bigger file is a mistake (a generated listing) or hostile, and would make every COPY crawl
const maxDockerignoreBytes = 1024 * 1024;

/**
 * The context's exclude patterns: `<Dockerfile>.dockerignore` beside the Dockerfile when it exists
 * (it wins, as with BuildKit), else `<context>/.dockerignore`, else none. Each is read inside its
 * directory (a link out of it is not followed), must be a regular file, and at most 1 MiB:
 * otherwise FILE_UNREADABLE naming it.
 */
export async function readDockerignore(contextDir: string, dockerfilePath?: string): Promise<string[]> {
  return (await readDockerignoreFile(contextDir, dockerfilePath)).patterns;
}

/** As readDockerignore, with where each pattern was written (for "excluded by … line N"). */
export async function readDockerignoreFile(contextDir: string, dockerfilePath?: string): Promise<Dockerignore> {
  const candidates: [string, string][] = dockerfilePath ? [[dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`]] : [];
  candidates.push([contextDir, '.dockerignore']);
  for (const [dir, name] of candidates) {
    const file = join(dir, name);
    const shown = file.startsWith(`${contextDir}/`) ? file.slice(contextDir.length + 1) : file;
    const bytes = readFileInRoot(dir, name, { maxBytes: maxDockerignoreBytes, what: shown });
    if (bytes) return parseDockerignore(bytes.toString('utf8'), shown);
  }
  return { patterns: [], origins: new Map() };
}
