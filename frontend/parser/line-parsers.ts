// Per-instruction argument rules, as BuildKit's parser applies them before any variable
// expansion: JSON (exec) form or shell form, key/value pairs, whitespace lists, plain strings.
import { goSplit, isSpace, trimLeftSpace, WHITESPACE } from './go-text.ts';

export interface ParsedArgs {
  args: string[];
  json: boolean;
}

/** A user mistake the line parsers detect; the parser adds file and line. */
export class LineParseError extends Error {}

export type LineParser = (rest: string, escapeToken: string) => ParsedArgs;

const plain = (args: string[]): ParsedArgs => ({ args, json: false });

/** Words separated by spaces; quotes and escapes are kept, they only protect spaces. */
export function parseWords(rest: string, esc: string): string[] {
  const words: string[] = [];
  const chars = [...rest];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOk = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOk || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === esc) {
        if (pos + 1 === chars.length) continue; // an escape at the end of the line is dropped
        word += ch;
        ch = chars[++pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    // single quotes escape nothing
    if (ch === esc && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos];
    }
    word += ch;
  }
  return words;
}

/** ENV and LABEL: `key value` (old form, one pair) or `k=v k2=v2`; triples of key, value, separator. */
function nameVal(command: string): LineParser {
  return (rest, esc) => {
    const words = parseWords(rest, esc);
    if (words.length === 0) return plain([]);
    if (!words[0].includes('=')) {
      const parts = goSplit(rest, WHITESPACE, 2);
      if (parts.length < 2) throw new LineParseError(`${command} must have two arguments`);
      return plain([parts[0], parts[1], '']);
    }
    const args: string[] = [];
    for (const word of words) {
      const eq = word.indexOf('=');
      if (eq < 0) throw new LineParseError(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
      args.push(word.slice(0, eq), word.slice(eq + 1), '=');
    }
    return plain(args);
  };
}

const nameOrNameVal: LineParser = (rest, esc) => plain(parseWords(rest, esc));

const whitespaceList: LineParser = (rest) => plain(rest === '' ? [] : goSplit(rest, WHITESPACE, -1));

const string: LineParser = (rest) => plain(rest === '' ? [] : [rest]);

class NotJson extends Error {}

function parseJson(rest: string): ParsedArgs {
  const text = trimLeftSpace(rest);
  if (!text.startsWith('[')) throw new NotJson();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new NotJson();
  }
  if (!Array.isArray(value)) throw new NotJson();
  if (!value.every((v) => typeof v === 'string')) throw new LineParseError('when using JSON array syntax, arrays must be comprised of strings only');
  return { args: value as string[], json: true };
}

/** RUN, CMD, ENTRYPOINT, SHELL: a JSON array of strings, else the whole rest as one string. */
const maybeJson: LineParser = (rest) => {
  if (rest === '') return plain([]);
  // most lines are not JSON: said without an exception (each costs ~20 us, 20 RUNs ~0.5 ms of a no-change rebuild)
  if (!trimLeftSpace(rest).startsWith('[')) return plain([rest]);
  try {
    return parseJson(rest);
  } catch (e) {
    if (e instanceof NotJson) return plain([rest]);
    throw e;
  }
};

/** ADD, COPY, VOLUME: a JSON array of strings, else a whitespace-separated list. */
const maybeJsonToList: LineParser = (rest, esc) => {
  if (!trimLeftSpace(rest).startsWith('[')) return whitespaceList(rest, esc);
  try {
    return parseJson(rest);
  } catch (e) {
    if (e instanceof NotJson) return whitespaceList(rest, esc);
    throw e;
  }
};

/** HEALTHCHECK: the type word (CMD, NONE) then a RUN-like command. */
const healthcheck: LineParser = (rest, esc) => {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep])) sep++;
  let next = sep;
  while (next < rest.length && isSpace(rest[next])) next++;
  if (sep === 0) return plain([]);
  const cmd = maybeJson(rest.slice(next), esc);
  return { args: [rest.slice(0, sep), ...cmd.args], json: cmd.json };
};

export const lineParsers: Readonly<Record<string, LineParser>> = {
  add: maybeJsonToList,
  arg: nameOrNameVal,
  cmd: maybeJson,
  copy: maybeJsonToList,
  entrypoint: maybeJson,
  env: nameVal('ENV'),
  expose: whitespaceList,
  from: whitespaceList,
  healthcheck,
  label: nameVal('LABEL'),
  maintainer: string,
  run: maybeJson,
  shell: maybeJson,
  stopsignal: string,
  user: string,
  volume: maybeJsonToList,
  workdir: string,
};
