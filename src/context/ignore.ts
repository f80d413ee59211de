// .dockerignore semantics, shared by the worker (what a copy reads) and the solver (what a cache
// key hashes): both must agree exactly, so both use this one matcher.
import dockerignore, { type Ignore } from '@balena/dockerignore';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// CommonJS with a `default` property: Node's and TypeScript's views differ on which is the function
const ignore = ((dockerignore as unknown as { default?: unknown }).default ?? dockerignore) as unknown as () => Ignore;

export interface IgnoreMatcher {
  /** Whether the context-relative path (no leading '/') is excluded. */
  ignores(relPath: string): boolean;
  /** True when some pattern re-includes (`!pattern`), so an excluded dir may still hold included files. */
  readonly hasExceptions: boolean;
}

export function createIgnoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  const ig = ignore().add([...patterns]);
  return {
    ignores: (relPath) => relPath !== '' && relPath !== '.' && ig.ignores(relPath),
    hasExceptions: patterns.some((p) => p.trim().startsWith('!')),
  };
}

/** Patterns of a .dockerignore text: comments and blank lines dropped. */
export function parseDockerignore(text: string, file?: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    out.push(l);
    if (file && !origins.has(l)) origins.set(l, { file, line: i + 1 });
  });
  return out;
}

// Where each pattern was read, so "excluded by .dockerignore" can name the line. Patterns travel
// through ops as plain strings (they are part of digests); this is their only link to a file.
const origins = new Map<string, { file: string; line: number }>();

/** The pattern that decides `relPath` is excluded (the last one matching), with where it was written. */
export function excludingPattern(patterns: readonly string[], relPath: string): { pattern: string; file?: string; line?: number } | undefined {
  let decided: string | undefined;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    const body = negated ? p.slice(1) : p;
    if (ignore().add([body]).ignores(relPath)) decided = negated ? undefined : p;
  }
  return decided === undefined ? undefined : { pattern: decided, ...origins.get(decided) };
}

/**
 * The context's exclude patterns: `<Dockerfile>.dockerignore` beside the Dockerfile when it exists
 * (it wins, as with BuildKit), else `<context>/.dockerignore`, else none.
 */
export async function readDockerignore(contextDir: string, dockerfilePath?: string): Promise<string[]> {
  const candidates = dockerfilePath ? [join(dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`)] : [];
  candidates.push(join(contextDir, '.dockerignore'));
  for (const file of candidates) {
    try {
      return parseDockerignore(await readFile(file, 'utf8'), file.startsWith(`${contextDir}/`) ? file.slice(contextDir.length + 1) : file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return [];
}
