// Splits a logical line into the instruction word, its leading `--flags`, and the rest.
import { goSplit, isSpace, trimSpace, WHITESPACE } from './go-text.ts';

export interface SplitCommand {
  command: string;
  flags: string[];
  rest: string;
}

export function splitCommand(line: string, escapeToken: string): SplitCommand {
  const parts = goSplit(trimSpace(line), WHITESPACE, 2);
  if (parts.length < 2) return { command: parts[0] ?? '', flags: [], rest: '' };
  const { rest, flags } = extractFlags(parts[1], escapeToken);
  return { command: parts[0], flags, rest: trimSpace(rest) };
}

/**
 * Reads words starting with `--` (quotes and escapes processed) until the first word that does
 * not, or a bare `--`, which ends the flags and is dropped.
 */
function extractFlags(line: string, esc: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? line[pos] : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOk || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOk || word.length > 0) flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      let c = ch;
      if (c === esc) {
        if (pos + 1 === line.length) continue;
        c = line[++pos];
      }
      word += c;
      continue;
    }
    // in a quote
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    let c = ch;
    if (c === esc) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      c = line[++pos];
    }
    word += c;
  }
  return { rest: '', flags };
}
