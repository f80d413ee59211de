// Dockerfile text → instructions, line for line as BuildKit's parser reads it: directives at the
// top, comments dropped (also inside continuations), a trailing escape token joins the next
// line, empty continuation lines are skipped with a warning, and heredoc bodies follow the line
// that opens them.
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import type { DockerfileAst, Instruction, ParseWarning } from './ast.ts';
import { DirectiveError, DirectiveState } from './directives.ts';
import { trimLeftSpace, trimSpace } from './go-text.ts';
import { chompHeredocContent, heredocsFromLine } from './heredoc.ts';
import { LineParseError, lineParsers } from './line-parsers.ts';
import { splitCommand } from './split-command.ts';

const HEREDOC_COMMANDS = new Set(['add', 'copy', 'run']);

// Far past any real Dockerfile; the bound keeps the work on a hostile one (stage lookups by name,
// the linter's walks over base chains) to seconds instead of minutes.
export const MAX_STAGES = 10_000;

export function parseDockerfile(text: string, file: string): DockerfileAst {
  const lines = splitLines(text.replace(/^\uFEFF/, ''));
  checkLineLengths(lines, file);
  const d = new DirectiveState();
  const instructions: Instruction[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let stageCount = 0;
  let i = 0; // index of the next line to read; also the 1-based number of the last line read

  const fail = (e: unknown, line: number, endLine = line): never => {
    if (!(e instanceof LineParseError || e instanceof DirectiveError)) throw e;
    const lineText = lines[line - 1]?.replace(/[\r\n]+$/, '');
    throw invalid(ErrorCodes.DOCKERFILE_SYNTAX, `${file}:${line}: ${e.message}`, {
      location: { file, line, endLine: endLine > line ? endLine : undefined, text: lineText },
    });
  };
  const processLine = (raw: string, stripLeft: boolean): { text: string; directive: boolean } => {
    let token = trimNewline(raw);
    if (stripLeft) token = trimLeftSpace(token);
    let directive = false;
    try {
      directive = d.parseLine(token);
    } catch (e) {
      fail(e, i + 1);
    }
    return { text: isComment(token) ? '' : token, directive };
  };

  while (i < lines.length) {
    const raw = lines[i];
    if (isComment(raw)) {
      const comment = trimSpace(trimLeftSpace(raw).slice(1));
      comments = comment === '' ? [] : [...comments, comment];
    }
    const first = processLine(raw, true);
    if (first.directive) comments = comments.slice(0, -1);
    i++;
    const startLine = i;
    let [text, endOfLine] = trimContinuation(first.text, d);
    if (endOfLine && text === '') continue;
    let logical = text;
    let emptyContinuation = false;
    while (!endOfLine && i < lines.length) {
      const next = lines[i];
      const { text: body } = processLine(next, false);
      i++;
      if (isComment(next)) continue;
      if (trimLeftSpace(trimNewline(body)) === '') {
        emptyContinuation = true;
        continue;
      }
      [text, endOfLine] = trimContinuation(body, d);
      logical += text;
    }
    if (emptyContinuation) warnings.push({ message: `Empty continuation line found in: ${logical}`, line: i });

    let node: Instruction;
    try {
      node = instructionFromLine(logical, d.escapeToken, comments);
    } catch (e) {
      return fail(e, startLine, i);
    }
    const target = node.trigger ?? node;
    if (HEREDOC_COMMANDS.has(target.name) && !target.json && logical.includes('<<')) {
      let docs;
      try {
        docs = heredocsFromLine(logical);
      } catch (e) {
        return fail(e, startLine, i);
      }
      for (const doc of docs) {
        let terminated = false;
        let content = doc.content;
        while (i < lines.length) {
          const body = lines[i++];
          let candidate = trimNewline(body);
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += body;
        }
        if (!terminated) fail(new LineParseError('unterminated heredoc'), startLine, i);
        node.heredocs.push({ ...doc, content });
      }
    }
    node.startLine = startLine;
    node.endLine = i;
    if (node.name === 'from' && ++stageCount > MAX_STAGES) {
      throw invalid(ErrorCodes.DOCKERFILE_SYNTAX, `${file}:${startLine}: more than ${MAX_STAGES} stages (FROM instructions)`, {
        location: { file, line: startLine, text: lines[startLine - 1]?.replace(/[\r\n]+$/, '') },
        hint: 'split the build into several Dockerfiles',
      });
    }
    instructions.push(node);
    comments = [];
  }

  if (instructions.length === 0) {
    throw invalid(ErrorCodes.DOCKERFILE_SYNTAX, `${file}: file with no instructions`, {
      location: { file, line: Math.max(1, i) },
      hint: 'a Dockerfile needs at least a FROM instruction',
    });
  }
  const { syntax, escape, check } = d.values;
  return { file, directives: { syntax, escape: escape ?? '\\', check }, instructions, warnings };
}

function instructionFromLine(line: string, escapeToken: string, comments: string[]): Instruction {
  const { command, flags, rest } = splitCommand(line, escapeToken);
  const name = command.toLowerCase();
  const node: Instruction = { command, name, flags, args: [], json: false, heredocs: [], original: line, startLine: 0, endLine: 0, comments };
  if (name === 'onbuild') {
    if (rest !== '') node.trigger = instructionFromLine(rest, escapeToken, []);
    return node;
  }
  const parse = lineParsers[name];
  if (!parse) {
    node.args = ['']; // BuildKit keeps an unknown instruction with one empty argument; it fails later
    return node;
  }
  const parsed = parse(rest, escapeToken);
  node.args = parsed.args;
  node.json = parsed.json;
  return node;
}

/** Lines with their line endings kept, as the scanner BuildKit uses yields them. */
/**
 * BuildKit reads the Dockerfile with Go's bufio.Scanner, whose 64 KiB token limit refuses any
 * physical line (heredoc bodies included) of more than 65535 bytes before its newline.
 */
const MAX_LINE_BYTES = 65535;

function checkLineLengths(lines: readonly string[], file: string): void {
  const at = lines.findIndex((l) => Buffer.byteLength(l.endsWith('\n') ? l.slice(0, -1) : l) > MAX_LINE_BYTES);
  if (at < 0) return;
  const bytes = Buffer.byteLength(lines[at].replace(/\n$/, ''));
  throw invalid(ErrorCodes.DOCKERFILE_SYNTAX, `${file}:${at + 1}: dockerfile line greater than max allowed size of ${MAX_LINE_BYTES} (this line has ${bytes} bytes)`, {
    location: { file, line: at + 1, text: lines[at].replace(/\r?\n$/, '') },
    hint: 'split it over several lines ending in the escape character (\\ unless # escape= sets another), or move long content into a file that COPY brings in',
  });
}

function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    out.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

const trimNewline = (s: string): string => s.replace(/[\r\n]+$/, '');
const isComment = (line: string): boolean => trimLeftSpace(line).startsWith('#');

function trimContinuation(line: string, d: DirectiveState): [string, boolean] {
  if (d.continuation.test(line)) return [line.replace(d.continuation, '$1'), false];
  return [line, true];
}

export { chompHeredocContent };
