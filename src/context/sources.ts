// Which paths of a source tree a copy names: sources relative to the root (never escaping it),
// wildcards expanded per component, .dockerignore'd paths invisible. Shared by the worker's copy
// and the solver's cache keys so both read exactly the same files.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, closest, invalid, notFound } from '../errors/index.ts';
import { createIgnoreMatcher, excludingPattern, type IgnoreMatcher, type PatternOrigins } from './ignore.ts';
import { cleanPath, resolveInRoot } from './safe-path.ts';
import { hasWildcard, isValidPattern, wildcardToRegExp } from './wildcard.ts';

export interface ExpandOptions {
  /** A wildcard matching nothing is fine (the copy then just copies fewer sources). */
  allowWildcardEmpty?: boolean;
  /** How messages name the root: default "the build context". */
  rootName?: string;
  /** Where the exclude patterns were written (src/context/ignore.ts), so an excluded source's error names the line. */
  patternOrigins?: PatternOrigins;
}

export interface SelectOptions extends ExpandOptions {
  /** Whether a source that is itself a symlink stands for its target (COPY does; links below it are never followed). */
  followSymlinks: boolean;
}

/** One selected source: its path below the root, the host path it reads, and that path's lstat. */
export interface SelectedSource {
  rel: string;
  host: string;
  stat: Stats;
}

/**
 * The sources a copy reads, resolved as it reads them: expanded (wildcards, .dockerignore), then a
 * final symlink followed or not. The worker copies exactly these and the cache key hashes exactly
 * these, so the two cannot disagree on which bytes a COPY depends on.
 */
export function selectSources(root: string, src: readonly string[], excludePatterns: readonly string[], opts: SelectOptions): SelectedSource[] {
  const where = opts.rootName ?? 'the build context';
  return expandSources(root, src, excludePatterns, opts).map((rel) => {
    const host = resolveInRoot(root, rel, { followLast: opts.followSymlinks });
    try {
      return { rel, host, stat: lstatSync(host) };
    } catch {
      // expandSources saw the path itself: only a followed link can lead nowhere
      throw notFound(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${rel}" is a symlink to a path not found in ${where}`);
    }
  });
}

// enough candidates for a useful "did you mean" without walking a huge tree
const maxCandidates = 20_000;

/** The matched paths, relative to `root` ('.' for the root itself), in order, without duplicates. */
export function expandSources(root: string, src: readonly string[], excludePatterns: readonly string[], opts: ExpandOptions = {}): string[] {
  const matcher = createIgnoreMatcher(excludePatterns);
  const where = opts.rootName ?? 'the build context';
  const out = new Set<string>();
  for (const s of src) {
    const rel = cleanPath(s).slice(1);
    if (!hasWildcard(rel)) {
      if (!exists(root, rel)) {
        const hint = closest(rel, candidates(root, matcher));
        throw notFound(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${display(s)}" not found in ${where}`, hint ? { hint: `did you mean "${hint}"?` } : {});
      }
      // an excluded dir an exception may re-include from is still a source (the copy walks it)
      if (matcher.ignores(rel) && !(matcher.hasExceptions && isDir(root, rel))) throw excludedError(display(s), rel, excludePatterns, opts.patternOrigins);
      out.add(rel === '' ? '.' : rel);
      continue;
    }
    const bad = rel.split('/').find((p) => hasWildcard(p) && !isValidPattern(p));
    if (bad !== undefined) throw invalid(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${display(s)}": syntax error in pattern "${bad}"`, { hint: 'close the bracket, or escape [ * ? with \\ to name a file literally' });
    // as fsutil: the literal directory before the first wildcard must exist (it walks it)
    const prefix = literalPrefix(rel);
    if (prefix !== '' && !exists(root, prefix)) throw notFound(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${display(s)}": "${prefix}" not found in ${where}`);
    const matches = expandWildcard(root, rel, matcher);
    if (matches.length === 0 && !opts.allowWildcardEmpty) throw notFound(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${display(s)}" matched no files in ${where}`);
    for (const m of matches) out.add(m);
  }
  return [...out];
}

function excludedError(shown: string, rel: string, patterns: readonly string[], origins?: PatternOrigins) {
  const by = excludingPattern(patterns, rel, origins);
  const where = by?.line ? `${by.file} line ${by.line} ("${by.pattern}")` : by ? `.dockerignore pattern "${by.pattern}"` : '.dockerignore';
  return notFound(ErrorCodes.COPY_SOURCE_NOT_FOUND, `"${shown}" is excluded by ${where}`, { hint: 'remove it from .dockerignore, or add a "!" exception for it' });
}

function display(s: string): string {
  return s.replace(/^\/+/, '');
}

function isDir(root: string, rel: string): boolean {
  try {
    return lstatSync(resolveInRoot(root, rel)).isDirectory();
  } catch {
    return false;
  }
}

function exists(root: string, rel: string): boolean {
  try {
    lstatSync(resolveInRoot(root, rel, { followLast: false }));
    return true;
  } catch {
    return false;
  }
}

/** The components of a pattern before its first wildcard one ('' when it starts with one). */
function literalPrefix(rel: string): string {
  const parts = rel.split('/');
  return parts.slice(0, parts.findIndex((p) => hasWildcard(p))).join('/');
}

function expandWildcard(root: string, rel: string, matcher: IgnoreMatcher): string[] {
  let prefixes = [''];
  // as fsutil: the components before the first wildcard are literal, the rest one Go pattern
  let pattern = false;
  for (const part of rel.split('/')) {
    pattern ||= hasWildcard(part);
    const next: string[] = [];
    for (const prefix of prefixes) {
      if (!pattern) {
        next.push(prefix ? `${prefix}/${part}` : part);
        continue;
      }
      const re = wildcardToRegExp(part);
      let names: string[] = [];
      try {
        names = readdirSync(resolveInRoot(root, prefix)).sort();
      } catch {
        // not a directory: nothing below it matches
      }
      for (const n of names) if (re.test(n)) next.push(prefix ? `${prefix}/${n}` : n);
    }
    prefixes = next;
  }
  return prefixes.filter((p) => exists(root, p) && !matcher.ignores(p));
}

function candidates(root: string, matcher: IgnoreMatcher): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    if (found.length >= maxCandidates) return;
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (matcher.ignores(p)) continue;
      found.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk('');
  return found;
}
