// Located errors for Dockerfile mistakes: `Dockerfile:7: COPY requires at least two arguments`.
import { ErrorCodes, invalid, type ErrorCode, type TsbuildError } from '../../src/errors/index.ts';
import type { Instruction } from '../parser/ast.ts';

export interface SourceText {
  file: string;
  /** The Dockerfile's lines, for the location's `text`. */
  lines: readonly string[];
}

/**
 * Where `node` is; with `near`, the column of the first place that text appears in the
 * instruction's lines (a flag, a stage name), so the report can point at it.
 */
export function locate(src: SourceText, node: Instruction, near?: string) {
  let line = node.startLine;
  let column: number | undefined;
  if (near) {
    for (let n = node.startLine; n <= node.endLine; n++) {
      const at = src.lines[n - 1]?.indexOf(near) ?? -1;
      if (at >= 0) {
        line = n;
        column = at + 1;
        break;
      }
    }
  }
  return {
    file: src.file,
    line,
    column: column ?? firstColumn(src.lines[node.startLine - 1]),
    endLine: node.endLine > line ? node.endLine : undefined,
    text: src.lines[line - 1]?.replace(/\r$/, ''),
  };
}

/** The instruction keyword's column: where the line's text starts. */
function firstColumn(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return text.length - text.trimStart().length + 1;
}

export function instructionError(
  src: SourceText,
  node: Instruction,
  message: string,
  extra: { hint?: string; code?: ErrorCode; cause?: unknown; near?: string } = {},
): TsbuildError {
  const location = locate(src, node, extra.near);
  // file:line:column when we can point at the offending text, as compilers do
  const where = extra.near && location.column !== undefined ? `${location.line}:${location.column}` : `${location.line}`;
  return invalid(extra.code ?? ErrorCodes.DOCKERFILE_SEMANTIC, `${src.file}:${where}: ${message}`, {
    location,
    hint: extra.hint,
    cause: extra.cause,
  });
}
