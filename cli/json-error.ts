// Under `--progress rawjson` stderr carries JSON lines only: a failed build's report is one more
// line, `{"error":{"code":…,"kind":…,"message":…,"report":…}}` (`report` is the text the other
// modes print). A reader of buildx's SolveStatus lines ignores the unknown field.
import { isTsbuildError } from '../src/errors/index.ts';
import { formatError } from './format-error.ts';
import { BuildCancelled } from './cancel.ts';

/** A failure whose report is written: the CLI exits with `exitCode` and prints nothing more. */
export class ReportedError extends Error {
  readonly exitCode: number;

  constructor(cause: unknown, exitCode: number) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ReportedError';
    this.exitCode = exitCode;
  }
}

/** Writes `e`'s report as a JSON line to `out`; returns the error to throw instead. */
export function reportAsJson(e: unknown, out: NodeJS.WritableStream): ReportedError {
  const error = {
    code: isTsbuildError(e) ? e.code : undefined,
    kind: isTsbuildError(e) ? e.kind : 'internal',
    message: e instanceof Error ? e.message : String(e),
    report: formatError(e),
  };
  out.write(`${JSON.stringify({ error })}\n`);
  return new ReportedError(e, e instanceof BuildCancelled ? e.exitCode : 1);
}
