// Word splitting and variable expansion with the rules of Docker's shell lexer (BuildKit
// frontend/dockerfile/shell): quotes, the escape token, $V, ${V}, ${V:-w} ${V-w} ${V:+w} ${V+w}
// ${V:?m} ${V?m}, ${V#p} ${V##p} ${V%p} ${V%%p}, ${V/p/r} ${V//p/r}. It is not a shell: nothing
// runs, unknown modifiers are errors, and an unset variable expands to "" (or stays as written
// with skipUnsetEnv, which heredoc detection uses).

/** Lookup used for expansion; `undefined` means unset (an empty string is set). */
export type EnvLookup = (name: string) => string | undefined;

export interface ShellLexOptions {
  /** `\` (default) or a backtick, as `# escape=` sets it. */
  escapeToken?: string;
  /** Keep quote characters in the result. */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result. */
  rawEscapes?: boolean;
  /** Leave `$V`/`${V...}` as written when V is unset. */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
}

export interface ExpansionResult {
  /** The whole input expanded, spaces kept. */
  result: string;
  /** The expansion split into words (quotes and escapes protect spaces). */
  words: string[];
  /** Variables referenced that were set / unset. */
  matched: Set<string>;
  unmatched: Set<string>;
}

/** The lexer's own failures; callers turn them into located TsbuildErrors. */
export class ShellLexError extends Error {}

// No real word comes near this (Linux refuses a single argument or env string over 128 KiB at
// exec): the bound only stops expansions that double themselves, such as a chain of
// `ARG aN=${aN-1}${aN-1}`, before they exhaust the heap.
export const maxExpandedLength = 1 << 20;

function bounded(s: string): string {
  if (s.length > maxExpandedLength) throw tooLong();
  return s;
}

const tooLong = () => new ShellLexError(`variable expansion makes a word longer than ${maxExpandedLength} characters`);

export function expandWord(word: string, env: EnvLookup, options: ShellLexOptions = {}): ExpansionResult {
  const lexer = new Lexer(word, env, options);
  try {
    const { result, words } = lexer.processStopOn(undefined, options.rawEscapes ?? false);
    return { result, words, matched: lexer.matched, unmatched: lexer.unmatched };
  } catch (e) {
    if (e instanceof ShellLexError) throw new ShellLexError(`failed to process ${JSON.stringify(word)}: ${e.message}`);
    throw e;
  }
}

/** Expands into one string (what ENV, WORKDIR, COPY paths... use). */
export const processWord = (word: string, env: EnvLookup, options?: ShellLexOptions): string => expandWord(word, env, options).result;

/** Expands and splits into words (what heredoc detection and EXPOSE-like lists use). */
export const processWords = (word: string, env: EnvLookup, options?: ShellLexOptions): string[] => expandWord(word, env, options).words;

const isSpace = (ch: string): boolean => /^\s$/u.test(ch) && ch !== '\uFEFF';
// what isSpace accepts, as runs, for splitting a whole expanded value at once
const spaceRuns = /((?:(?!\uFEFF)\s)+)/u;
const isSpecialParam = (ch: string): boolean => '@*#?-$!0'.includes(ch);

/** Words accumulate here: spaces from expansions split words, quoted or escaped text never does. */
class WordBuilder {
  words: string[] = [];
  buf = '';
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else this.addRaw(ch);
  }
  addRaw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  addString(s: string): void {
    // whole runs at a time (a variable may hold a megabyte): the odd parts are the runs of spaces
    const parts = s.split(spaceRuns);
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === '') continue;
      if (i % 2 === 0) this.addRaw(parts[i]);
      else if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    }
  }
  finish(): string[] {
    if (this.buf.length > 0) this.words.push(this.buf);
    this.buf = '';
    return this.words;
  }
}

class Lexer {
  private readonly chars: string[];
  private pos = 0;
  private readonly env: EnvLookup;
  private readonly opts: ShellLexOptions;
  private readonly escape: string;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(input: string, env: EnvLookup, opts: ShellLexOptions) {
    this.chars = [...input];
    this.env = env;
    this.opts = opts;
    this.escape = opts.escapeToken ?? '\\';
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  processStopOn(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new WordBuilder();
    const quotes = !this.opts.skipProcessQuotes;
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stop !== undefined && ch === stop) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        result = bounded(result + value);
        words.addString(value);
      } else if (ch === '<') {
        const value = this.processPossibleHeredoc();
        result += value;
        words.addRaw(value);
      } else if (quotes && (ch === "'" || ch === '"')) {
        const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote(rawEscapes);
        result += value;
        words.addRaw(value);
      } else {
        this.next();
        if (ch === this.escape) {
          if (rawEscapes) {
            words.addRaw(ch);
            result += ch;
          }
          const escaped = this.next();
          if (escaped === undefined) break; // an escape at the very end is dropped
          words.addRaw(escaped);
          result += escaped;
        } else {
          words.addChar(ch);
          result += ch;
        }
      }
    }
    if (stop !== undefined) throw new ShellLexError(`unexpected end of statement while looking for matching ${stop}`);
    return { result, words: words.finish() };
  }

  private processSingleQuote(): string {
    const open = this.next()!;
    let out = this.opts.rawQuotes ? open : '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.opts.rawQuotes ? out + ch : out;
      out += ch;
    }
  }

  private processDoubleQuote(rawEscapes: boolean): string {
    const open = this.next()!;
    let out = this.opts.rawQuotes ? open : '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return this.opts.rawQuotes ? out + ch : out;
      }
      if (ch === '$') {
        out = bounded(out + this.processDollar());
        continue;
      }
      let c = this.next()!;
      if (c === this.escape) {
        if (rawEscapes) out += c;
        const after = this.peek();
        if (after === undefined) continue;
        // Inside double quotes only ", $ and the escape token itself can be escaped.
        if (after === '"' || after === '$' || after === this.escape) c = this.next()!;
      }
      out += c;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new ShellLexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ShellLexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    if (ch === undefined) throw new ShellLexError("syntax error: missing '}'");
    let mod = ch;
    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === '/') return this.processReplace(name);
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      mod += ch ?? '';
    }
    if (ch === undefined || !'+-?#%'.includes(ch)) throw new ShellLexError(`unsupported modifier (${mod}) in substitution`);
    const patternOp = ch === '#' || ch === '%';
    if (nullIsUnset && patternOp) throw new ShellLexError(`unsupported modifier (${mod}) in substitution`);
    let word = this.stopOnOrMissing('}', patternOp, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}${mod}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unset ? word : value!;
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new ShellLexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new ShellLexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // one # or % is the shortest match, two the longest
        const greedy = word.startsWith(ch);
        if (greedy) word = word.slice(1);
        return ch === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
      }
    }
  }

  private processReplace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.stopOnOrMissing('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.stopOnOrMissing('}', true, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const re = patternToRegExp(pattern, true, false, all);
    const base = (value ?? '').length;
    let grown = 0;
    return (value ?? '').replace(re, (m: string) => {
      grown += replacement.length - m.length;
      if (base + grown > maxExpandedLength) throw tooLong();
      return replacement;
    });
  }

  private stopOnOrMissing(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (e) {
      if (e instanceof ShellLexError && this.peek() === undefined) throw new ShellLexError(missing);
      throw e;
    }
  }

  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && /^\p{Nd}$/u.test(ch)) {
        // positional parameters: all the digits, never set in a Dockerfile
        while (this.peek() !== undefined && /^\p{Nd}$/u.test(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && isSpecialParam(ch)) return this.next()!;
      if (!/^[\p{L}\p{Nd}_]$/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let space = '';
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r') space += this.next();
    return '<<' + space;
  }

  private getEnv(name: string): string | undefined {
    const value = this.env(name);
    (value === undefined ? this.unmatched : this.matched).add(name);
    return value;
  }
}

/** Shell wildcard pattern (`*`, `?`, `\` escapes; no bracket expressions) as a RegExp. */
function patternToRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  let out = anchored ? '^' : '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') out += greedy ? '[\\s\\S]*' : '[\\s\\S]*?';
    else if (ch === '?') out += '[\\s\\S]';
    else if (ch === '\\') {
      // `}` and `/` are escaped only to get them through ${...}; the escape is not part of the pattern
      if (chars[i + 1] === '}' || chars[i + 1] === '/') continue;
      const next = chars[++i];
      if (next !== '*' && next !== '?' && next !== '\\') throw new ShellLexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ''}'`);
      out += '\\' + next;
    } else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = patternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// A RegExp cannot find the shortest match that ends at the end, so reverse both the pattern
// (keeping each escape before its character) and the value, and trim a prefix instead.
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const chars = [...pattern];
  const units: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i < chars.length - 1) units.push(chars[i] + chars[++i]);
    else units.push(chars[i]);
  }
  const reversed = units.reverse().join('');
  const rev = (s: string) => [...s].reverse().join('');
  return rev(trimPrefix(reversed, rev(value), greedy));
}
