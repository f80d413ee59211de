// Signals that cancel a command. The first SIGINT, SIGTERM or SIGHUP aborts the build: each step
// kills its container (runc kill, then delete: that removes its cgroups), unmounts and removes its
// temp dirs, the exporter drops its partial output, and tsbuild exits with one line,
// `build cancelled (SIGTERM)`, and 128 + the signal's number, as a shell reports a killed command.
//
// Later signals do not cut that cleanup short, which would leave a mount or a container behind:
// a Ctrl-C through bin/tsbuild.js arrives twice (from the terminal, and passed on by the Node 20
// launcher; the same signal again within 200 ms counts as that one), and a supervisor may repeat
// its SIGTERM. The third signal forces an exit at once for a user who really means it; what that
// leaves, the next start's recovery (worker/recover.ts) removes.
import { constants } from 'node:os';
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';

export const cancelSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type CancelSignal = (typeof cancelSignals)[number];

/** The error a build cancelled by a signal ends with, whatever its steps threw while stopping. */
export class BuildCancelled extends TsbuildError {
  readonly signalName: CancelSignal;

  /** `what`: the command cancelled, as the message names it (default build). */
  constructor(signalName: CancelSignal, what = 'build') {
    super(`${what} cancelled (${signalName})`, { code: ErrorCodes.CANCELLED, kind: 'cancelled' });
    this.name = 'BuildCancelled';
    this.signalName = signalName;
  }

  /** 128 + the signal number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
  get exitCode(): number {
    return 128 + constants.signals[this.signalName];
  }
}

/**
 * The error a build ends with when its stdout or stderr failed under it (cli/closed-pipe.ts): a
 * closed pipe exits quietly with 141, as a tool SIGPIPE stopped; anything else is said, exit 1.
 */
export class StdioFailed extends TsbuildError {
  readonly exitCode: number;
  /** Nothing to say: the reader went away (EPIPE). */
  readonly silent: boolean;

  constructor(message: string, closedPipe: boolean) {
    super(message, { code: ErrorCodes.OUTPUT_FAILED, kind: 'unavailable' });
    this.name = 'StdioFailed';
    this.exitCode = closedPipe ? 141 : 1;
    this.silent = closedPipe;
  }
}

export interface Cancellation {
  /** Aborted, with a BuildCancelled as its reason, by the first signal (or with abort's reason). */
  readonly signal: AbortSignal;
  /** Cancels as a signal does, with `reason` as what the build ends with. Does nothing once cancelled. */
  abort(reason: Error): void;
  /**
   * The error to report for `e`: the BuildCancelled when a signal came (what failed on the way
   * down is only the consequence), else `e` itself.
   */
  explain(e: unknown): unknown;
  /** Stops listening; signals get their default action again. Idempotent. */
  dispose(): void;
}

export interface CancelOptions {
  /** What a signal cancels, for its message: `build` (the default), `save`. */
  what?: string;
  /** Where the "still cleaning up" notice goes; default stderr. */
  notice?: (line: string) => void;
  /** How to leave on the third signal; default process.exit. */
  forceExit?: (code: number) => void;
}

/** A terminal's Ctrl-C and the launcher's copy of it arrive within a few ms of each other. */
const duplicateMs = 200;

/** Turns the first cancel signal into an abort; see the file comment for later ones. */
export function cancelOnSignals(opts: CancelOptions = {}): Cancellation {
  const notice = opts.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const forceExit = opts.forceExit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  let count = 0;
  let last: { name: CancelSignal; at: number } | undefined;
  const handlers = cancelSignals.map((name) => {
    const handler = () => {
      const now = Date.now();
      const duplicate = last?.name === name && now - last.at < duplicateMs;
      if (duplicate) return;
      last = { name, at: now };
      count++;
      if (count === 1) controller.abort(new BuildCancelled(name, opts.what));
      else if (count === 2) notice(`tsbuild: ${name}: still cleaning up (containers, mounts, temp files); signal once more to exit at once`);
      else forceExit(new BuildCancelled(name).exitCode);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  let disposed = false;
  return {
    signal: controller.signal,
    abort: (reason) => {
      if (!controller.signal.aborted) controller.abort(reason);
    },
    explain: (e) => (controller.signal.aborted ? (controller.signal.reason as unknown) : e),
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
