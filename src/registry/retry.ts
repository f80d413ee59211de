// Retrying registry requests that may succeed a moment later: 5xx answers, rate limits and
// connection resets. Mistakes (404, 401, bad digests) fail at once.
import { ErrorCodes, TsbuildError } from '../errors/index.ts';
import { isRetryable } from './errors.ts';

export interface RetryOptions {
  /** Waits before each retry, in ms. */
  delays?: readonly number[];
  signal?: AbortSignal;
  /** Told before each wait, e.g. to log "retrying in 0.6 s". */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

// Retry after 0.2, 0.6 and 1.8 s (x3 backoff): rides out a registry restart or a dropped
// keep-alive connection, and gives up within ~3 s so a dead registry fails a CI build quickly.
export const DefaultDelays: readonly number[] = [200, 600, 1800];

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const cancelled = () => new TsbuildError('cancelled', { code: ErrorCodes.CANCELLED, kind: 'cancelled' });

/**
 * Runs `fn` until it succeeds, fails with an error that a retry cannot help, or the delays run
 * out; then rethrows the last error. `fn` must be safe to repeat (each call starts afresh).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const delays = opts.delays ?? DefaultDelays;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= delays.length || !isRetryable(e) || opts.signal?.aborted) throw e;
      // up to 20% jitter so parallel downloads do not hit a recovering registry in lockstep
      const delay = delays[attempt] * (1 + Math.random() * 0.2);
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}
