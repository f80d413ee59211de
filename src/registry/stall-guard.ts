// A transfer that stops moving is a fault like a reset: a registry that sends 10 bytes and then
// nothing must not hold a build forever. Each request gets a guard; every byte that arrives (and
// the response headers) pushes its deadline back, and when no byte came for the stall timeout
// the request is aborted with a retryable RegistryError, so withRetry tries it again like a
// dropped connection, and the last attempt's error says what happened.
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { RegistryError } from './errors.ts';

// 30 s without a single byte: far longer than a busy registry pauses between packets, short
// enough that a stuck CI job fails in about two minutes (four attempts) instead of hanging
export const DefaultStallTimeoutMs = 30_000;

/** The stall timeout: `TSBUILD_REGISTRY_STALL_TIMEOUT` (seconds, for tests and slow links) or the default. */
export function resolveStallTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TSBUILD_REGISTRY_STALL_TIMEOUT;
  const seconds = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DefaultStallTimeoutMs;
}

export interface StallGuard {
  /** Aborts the request when the transfer stalls; the reason is the RegistryError to throw. */
  readonly signal: AbortSignal;
  /** Bytes arrived: the deadline moves. */
  touch(): void;
  /** The transfer is over, read or failed: no more timer, and whatever is left unread is dropped. */
  done(): void;
}

/**
 * `peer` names who went quiet in the message: the registry, or the server of an `ADD https://…`.
 * `outer` (the build's cancellation) aborts the request too, with its own reason.
 */
export function createStallGuard(timeoutMs: number, what: string, peer = 'the registry', outer?: AbortSignal): StallGuard {
  const controller = new AbortController();
  if (outer) {
    const onOuter = () => controller.abort(new TsbuildError(`${what}: cancelled`, { code: ErrorCodes.CANCELLED, kind: 'cancelled' }));
    if (outer.aborted) onOuter();
    else {
      outer.addEventListener('abort', onOuter, { once: true });
      controller.signal.addEventListener('abort', () => outer.removeEventListener('abort', onOuter), { once: true });
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const seconds = Math.round(timeoutMs / 100) / 10;
      controller.abort(
        new RegistryError(`${what}: ${peer} sent nothing for ${seconds} s, the transfer stalled`, {
          code: ErrorCodes.REGISTRY_ERROR,
          kind: 'unavailable',
          retryable: true,
          hint: `${peer} or the network to it is stuck; try again later (TSBUILD_REGISTRY_STALL_TIMEOUT sets the wait, in seconds)`,
        }),
      );
    }, timeoutMs);
    // a pending guard must not keep the process alive on its own
    timer.unref();
  };
  arm();
  return {
    signal: controller.signal,
    touch: () => {
      if (!controller.signal.aborted) arm();
    },
    done: () => {
      clearTimeout(timer);
      // after a complete read this changes nothing; after a failure it closes the connection
      if (!controller.signal.aborted) controller.abort();
    },
  };
}
