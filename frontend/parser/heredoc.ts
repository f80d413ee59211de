// Heredoc words in RUN, COPY and ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`). A delimiter with
// any quoted part means the body is taken literally: we lex the word with and without keeping
// quotes and compare how many quote characters survive.
import { processWords, ShellLexError } from '../shell-lex.ts';
import type { Heredoc } from './ast.ts';
import { LineParseError } from './line-parsers.ts';

const HEREDOC = /^(\d*)<<(-?)\s*([^<]*)$/;
const unset = () => undefined;

/** The heredoc a single word opens, if any (body still empty). */
export function parseHeredoc(word: string): Heredoc | undefined {
  const m = HEREDOC.exec(word);
  if (!m || m[3] === '') return undefined;
  const words = lex(m[3], false);
  if (words.length !== 1) return undefined;
  const raw = lex(m[3], true);
  if (raw.length !== words.length) throw new LineParseError(`internal lexing of heredoc produced inconsistent results: ${m[3]}`);
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name: words[0],
    fileDescriptor: m[1] === '' ? 0 : Number.parseInt(m[1], 10),
    expand: quotes(words[0]) === quotes(raw[0]),
    chomp: m[2] === '-',
    content: '',
  };
}

/** Every heredoc the logical line opens, in order. */
export function heredocsFromLine(line: string): Heredoc[] {
  let words: string[];
  try {
    words = processWords(line, unset, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  } catch {
    return []; // BuildKit ignores lexing errors here; the instruction layer reports them
  }
  const docs: Heredoc[] = [];
  for (const word of words) {
    const doc = parseHeredoc(word);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** `<<-` bodies lose the leading tabs of every line. */
export const chompHeredocContent = (content: string): string => content.replace(/^\t+/gm, '');

function lex(word: string, rawQuotes: boolean): string[] {
  try {
    return processWords(word, unset, { rawQuotes, skipUnsetEnv: true });
  } catch (e) {
    if (e instanceof ShellLexError) throw new LineParseError(e.message);
    throw e;
  }
}
