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
export function parseDockerignore(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
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
      return parseDockerignore(await readFile(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return [];
}
