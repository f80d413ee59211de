// Located errors for Dockerfile mistakes: `Dockerfile:7: COPY requires at least two arguments`.
import { ErrorCodes, invalid, type ErrorCode, type TsbuildError } from '../../src/errors/index.ts';
import type { Instruction } from '../parser/ast.ts';

export interface SourceText {
  file: string;
  /** The Dockerfile's lines, for the location's `text`. */
  lines: readonly string[];
}

export function locate(src: SourceText, node: Instruction) {
  return {
    file: src.file,
    line: node.startLine,
    endLine: node.endLine > node.startLine ? node.endLine : undefined,
    text: src.lines[node.startLine - 1]?.replace(/\r$/, ''),
  };
}

export function instructionError(
  src: SourceText,
  node: Instruction,
  message: string,
  extra: { hint?: string; code?: ErrorCode; cause?: unknown } = {},
): TsbuildError {
  return invalid(extra.code ?? ErrorCodes.DOCKERFILE_SEMANTIC, `${src.file}:${node.startLine}: ${message}`, {
    location: locate(src, node),
    hint: extra.hint,
    cause: extra.cause,
  });
}
