// Parser directives (`# syntax=`, `# escape=`, `# check=`): only at the very top, before any
// instruction, blank line or ordinary comment; each at most once. The escape token also decides
// which trailing character continues a line.

const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const KNOWN = new Set(['syntax', 'escape', 'check']);

export class DirectiveError extends Error {}

export class DirectiveState {
  escapeToken = '\\';
  /** Matches a trailing escape token (with trailing blanks), which joins the next line. */
  continuation = continuationRegExp('\\');
  readonly values: Record<string, string> = {};
  private done = false;

  /** Looks at one (left-trimmed) line; true when it was a directive. */
  parseLine(line: string): boolean {
    if (this.done) return false;
    if (!line.startsWith('#')) {
      this.done = true;
      return false;
    }
    const m = DIRECTIVE.exec(line.slice(1).replace(/^\s+/u, ''));
    const key = m?.[1].toLowerCase();
    if (!m || key === undefined || !KNOWN.has(key)) {
      this.done = true;
      return false;
    }
    if (key in this.values) throw new DirectiveError(`only one ${key} parser directive can be used`);
    this.values[key] = m[2];
    if (key === 'escape') this.setEscapeToken(m[2]);
    return true;
  }

  private setEscapeToken(token: string): void {
    if (token !== '`' && token !== '\\') throw new DirectiveError(`invalid escape token '${token}' does not match \` or \\`);
    this.escapeToken = token;
    this.continuation = continuationRegExp(token);
  }
}

// Either the token after a character that is not the token, or the token alone on its line.
// Like BuildKit, an escaped escape token at the end ("foo \\\") is not told apart.
function continuationRegExp(token: string): RegExp {
  const t = token === '\\' ? '\\\\' : token;
  return new RegExp(`([^${t}])${t}[ \\t]*$|^${t}[ \\t]*$`);
}
