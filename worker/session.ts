// A build's session on the worker (BuildSession in ./types.ts): the slots its op runners keep for
// that build alone, released when it closes. The worker lives for many builds (the engine, a later
// daemon); what a source fetched must not outlive the build that fetched it, or the next build
// would key and build from a body or a commit the remote no longer serves.
import { ErrorCodes, TsbuildError } from '../src/errors/index.ts';
import type { Op } from '../src/llb/index.ts';
import type { BuildSession, SessionSlot } from './types.ts';

/** How the session's `resolveSource` reaches the runner of the op's kind. */
export type SessionResolver = (op: Op, session: BuildSession, signal?: AbortSignal) => Promise<string>;

/** A new session; `ended` hears of its close (the worker closes the ones still open when it closes). */
export function openBuildSession(resolve: SessionResolver, ended?: (session: BuildSession) => void): BuildSession {
  const kept = new Map<SessionSlot<unknown>, unknown>();
  let closing: Promise<void> | undefined;
  const assertOpen = () => {
    if (closing) throw new TsbuildError('the build is over: its session on the worker is closed', { code: ErrorCodes.STATE_ERROR, kind: 'precondition' });
  };
  const session: BuildSession = {
    async resolveSource(op, signal) {
      assertOpen();
      return resolve(op, session, signal);
    },
    keep<T>(slot: SessionSlot<T>): T {
      assertOpen();
      if (!kept.has(slot)) kept.set(slot, slot.create());
      return kept.get(slot) as T;
    },
    close: () =>
      (closing ??= (async () => {
        ended?.(session);
        // one slot failing to free (a file already gone) must not keep the others' files
        await Promise.allSettled([...kept].map(([slot, value]) => slot.release?.(value)));
        kept.clear();
      })()),
  };
  return session;
}

/** Runs `fn` in `session`, or in a session of its own (a run outside any build) closed when it ends. */
export async function inSession<T>(session: BuildSession | undefined, open: () => BuildSession, fn: (session: BuildSession) => Promise<T>): Promise<T> {
  if (session) return fn(session);
  const own = open();
  try {
    return await fn(own);
  } finally {
    await own.close();
  }
}
