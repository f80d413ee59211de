// A transfer that stops moving is a fault like a reset: a registry that sends 10 bytes and then
// nothing must not hold a build forever. Each request gets a guard; every byte that arrives (and
// the response headers) pushes its deadline back, and when no byte came for the stall timeout
// the request is aborted with a retryable RegistryError, so withRetry tries it again like a
// dropped connection, and the last attempt's error says what happened. A byte now and then is no
// better: a server that drips one byte every few seconds never goes quiet for the timeout, so the
// bytes are also counted over windows of twice the timeout, and a window that moved fewer than
// MinBytesPerSecond a second aborts the transfer the same way (its time is then bounded by its size).
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { RegistryError } from './errors.ts';

// 30 s without a single byte: far longer than a busy registry pauses between packets, short
// enough that a stuck CI job fails in about two minutes (four attempts) instead of hanging
export const DefaultStallTimeoutMs = 30_000;

// 2 KiB/s: a tenth of the slowest link anyone builds over, and a 4 MiB manifest's drip ends within 35 minutes
export const MinBytesPerSecond = 2048;

/** The stall timeout: `TSBUILD_REGISTRY_STALL_TIMEOUT` (seconds, for tests and slow links) or the default. */
export function resolveStallTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TSBUILD_REGISTRY_STALL_TIMEOUT;
  const seconds = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DefaultStallTimeoutMs;
}

export interface StallGuard {
  /** Aborts the request when the transfer stalls; the reason is the RegistryError to throw. */
  readonly signal: AbortSignal;
  /** Bytes arrived (`bytes` of a body), or the response did (no count): the deadline moves. */
  touch(bytes?: number): void;
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
  const seconds = (ms: number) => Math.round(ms / 100) / 10;
  const stalled = (said: string) =>
    new RegistryError(`${what}: ${peer} ${said}, the transfer stalled`, {
      code: ErrorCodes.REGISTRY_ERROR,
      kind: 'unavailable',
      retryable: true,
      hint: `${peer} or the network to it is stuck; try again later (TSBUILD_REGISTRY_STALL_TIMEOUT sets the wait, in seconds)`,
    });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(stalled(`sent nothing for ${seconds(timeoutMs)} s`)), timeoutMs);
    // a pending guard must not keep the process alive on its own
    timer.unref();
  };
  // the drip check: body bytes per window, a window started again when a response arrives
  const windowMs = 2 * timeoutMs;
  const minBytes = Math.ceil((MinBytesPerSecond * windowMs) / 1000);
  let moved = 0;
  let window: NodeJS.Timeout | undefined;
  const startWindow = () => {
    clearInterval(window);
    moved = 0;
    window = setInterval(() => {
      if (moved < minBytes) controller.abort(stalled(`sent ${moved} bytes in ${seconds(windowMs)} s (under ${MinBytesPerSecond} bytes/s)`));
      moved = 0;
    }, windowMs);
    window.unref();
  };
  controller.signal.addEventListener('abort', () => {
    clearTimeout(timer);
    clearInterval(window);
  }, { once: true });
  arm();
  startWindow();
  return {
    signal: controller.signal,
    touch: (bytes?: number) => {
      if (controller.signal.aborted) return;
      arm();
      if (bytes === undefined) startWindow();
      else moved += bytes;
    },
    done: () => {
      clearTimeout(timer);
      clearInterval(window);
      // after a complete read this changes nothing; after a failure it closes the connection
      if (!controller.signal.aborted) controller.abort();
    },
  };
}
