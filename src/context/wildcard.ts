// Go filepath.Match patterns (what BuildKit's copier uses for COPY sources): `*`, `?`, `[a-z]`,
// `[^a-z]` and `\` escapes, each matching within one path component.
//
// As fsutil's containsWildcards: a path is a pattern only when it holds `*`, `?` or `[` that no
// `\` escapes; otherwise it is used literally, backslashes and all (`back\slash.txt`). A pattern
// Go cannot parse (`[x`, `[]`, a trailing `\`) matches nothing, as filepath.Match's ErrBadPattern.

export function hasWildcard(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

const matchesNothing = /(?!)/;

/** Whether Go's filepath.Match can parse `pattern` (BuildKit's cache key then fails with "syntax error in pattern"). */
export function isValidPattern(pattern: string): boolean {
  return wildcardToRegExp(pattern) !== matchesNothing;
}

export function wildcardToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) return matchesNothing;
      re += escape(pattern[++i]);
    } else if (c === '[') {
      const cls = parseClass(pattern, i + 1);
      if (!cls) return matchesNothing;
      re += cls.re;
      i = cls.end;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, 'su');
}

/** A `[...]` class from `start` (just after `[`): its RegExp and the index of its `]`, or undefined when Go calls it malformed. */
function parseClass(p: string, start: number): { re: string; end: number } | undefined {
  let i = start;
  let negate = false;
  if (p[i] === '^') {
    negate = true;
    i++;
  }
  // Go's getEsc: a range end may not be '-' or ']' unescaped, and '\' escapes the next char
  const char = (): string | undefined => {
    const c = p[i];
    if (c === undefined || c === '-' || c === ']') return undefined;
    if (c === '\\') {
      i++;
      if (p[i] === undefined) return undefined;
    }
    return p[i++];
  };
  let body = '';
  for (let n = 0; ; n++) {
    if (p[i] === ']' && n > 0) break;
    const lo = char();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (p[i] === '-') {
      i++;
      const h = char();
      if (h === undefined) return undefined;
      hi = h;
    }
    // a reversed range matches nothing in Go but is legal; in a RegExp it would be a syntax error
    if (hi < lo) continue;
    body += lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`;
  }
  if (body === '') return { re: negate ? '[^/]' : '(?!)', end: i };
  return { re: negate ? `[^/${body}]` : `[${body}]`, end: i };
}

function classChar(c: string): string {
  return c.replace(/[\]\\^\-[]/g, '\\$&');
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
