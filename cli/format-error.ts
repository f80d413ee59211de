// The one place errors become text. A user's mistake prints what, where and why, the lines around
// it with the failing one marked, and what to try; anything else is our bug and says so.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isTsbuildError, type SourceLocation, type TsbuildError } from '../src/errors/index.ts';
import { escapeControl } from '../src/progress/index.ts';
import { formatEnvironmentError } from './environment-error.ts';

export interface FormatOptions {
  /** Text of files named by locations, when the caller has it (else the texts the error carries, else read from disk). */
  files?: ReadonlyMap<string, string>;
}

/**
 * The report for `e`, ready to print. Messages, excerpts and output lines carry text from
 * Dockerfiles and images, so control characters are escaped here, once, for all of it.
 */
export function formatError(e: unknown, opts: FormatOptions = {}): string {
  // a full disk, a missing permission: the machine's doing, said as such (cli/environment-error.ts)
  const environment = !isTsbuildError(e) || e.kind === 'internal' ? formatEnvironmentError(e) : undefined;
  if (environment) return escapeControl(environment);
  return escapeControl(!isTsbuildError(e) || e.kind === 'internal' ? formatBug(e) : formatUserError(e, opts));
}

function formatUserError(e: TsbuildError, opts: FormatOptions): string {
  const prefix = e.location ? `${e.location.file}:${e.location.line}:` : '';
  // some messages already start with their location (maybe with a column); say it once
  const where = prefix && !e.message.startsWith(prefix) ? `${prefix} ` : '';
  const step = e.step && !e.message.includes(e.step) ? `${e.step}: ` : '';
  const lines = [`ERROR: ${where}${step}${e.message}`];
  if (e.details.length > 0) {
    lines.push('------');
    for (const d of e.details) lines.push(` > ${d}`);
    lines.push('------');
  }
  if (e.location) lines.push(...excerpt(e.location, opts.files?.get(e.location.file) ?? e.sourceTexts?.get(e.location.file)));
  for (const n of e.notes) lines.push(`note: ${n.location ? `${n.location.file}:${n.location.line}: ` : ''}${n.message}`);
  if (e.hint) lines.push(`hint: ${e.hint}`);
  return `${lines.join('\n')}\n`;
}

/** Excerpt lines longer than this are cut: a 60 KB RUN line would bury the message. */
const MAX_EXCERPT_LINE = 240;

function clip(line: string): string {
  return line.length > MAX_EXCERPT_LINE ? `${line.slice(0, MAX_EXCERPT_LINE)}… (${line.length - MAX_EXCERPT_LINE} more characters)` : line;
}

/** Up to two lines either side of the location, the failing one marked with `>>>`. */
function excerpt(loc: SourceLocation, known: string | undefined): string[] {
  let text = known;
  if (text === undefined) {
    try {
      text = readFileSync(loc.file, 'utf8');
    } catch {
      return loc.text ? [`>>> ${loc.line} | ${clip(loc.text)}`] : [];
    }
  }
  const all = text.split('\n');
  const first = Math.max(1, loc.line - 2);
  const last = Math.min(all.length, (loc.endLine ?? loc.line) + 2);
  const width = String(last).length;
  const out = ['--------------------'];
  for (let n = first; n <= last; n++) {
    const marked = n >= loc.line && n <= (loc.endLine ?? loc.line);
    out.push(`${marked ? '>>>' : '   '} ${String(n).padStart(width)} | ${clip(all[n - 1] ?? '')}`);
    // a caret under the column, when there is one worth pointing at (not just the line start)
    if (n === loc.line && loc.column !== undefined && loc.column > 1 && loc.column <= MAX_EXCERPT_LINE && loc.column - 1 > (all[n - 1] ?? '').search(/\S/)) {
      out.push(`    ${' '.repeat(width)} | ${' '.repeat(loc.column - 1)}^`);
    }
  }
  out.push('--------------------');
  return out;
}

function formatBug(e: unknown): string {
  const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
  const home = homedir();
  const redacted = home && home !== '/' ? stack.split(home).join('~') : stack;
  return [
    `ERROR: internal error: ${e instanceof Error ? e.message : String(e)}`,
    'This is a bug in tsbuild, not in your Dockerfile. Please report it with the command you ran and this trace:',
    redacted,
    '',
  ].join('\n');
}
