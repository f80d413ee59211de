// One run of a cache key at a time, across the builds of one engine and across the tsbuild processes
// on one state root: a build about to run a step whose key another build is running waits for that
// run and then takes its result from the cache index (solver/execute.ts). See docs/scheduling.md.
//
// Two layers: in the engine, a map key → the promise its holder settles on release (no polling, no
// database write for a waiter); across processes, a row in `step_locks` naming the owner by
// `<pid>-<start>-<token>` (src/state/process-identity.ts). Taking a row is one INSERT OR IGNORE; a
// waiter polls it (10 ms, doubling to 100 ms) and takes it over when its owner process is gone (a
// kill -9 leaves rows behind; nothing else does). Release deletes only its own row.
//
// No deadlock: a holder takes its key only once the step's inputs are resolved and holds it only
// while that one step runs, waiting on nothing but the step itself (and a --max-parallelism slot,
// whose holders wait on nothing either). No build holds one key while waiting for another, so no
// wait can close a cycle, in whatever order two builds reach their keys.
//
//   const locks = openStepLocks(db);
//   const lock = await locks.acquire(key, signal);   // waits while another build runs `key`
//   try { … run the step, record its result … } finally { lock.release(); }
import { randomBytes } from 'node:crypto';
import { ownerAlive, processIdentity, type Database } from '../src/state/index.ts';

export interface StepLock {
  /** Lets the next waiter in. Idempotent. */
  release(): void;
}

export interface StepLocks {
  /** Whether another build of this engine, or a live process on this root, is running `key` now. */
  busy(key: string): boolean;
  /**
   * Resolves once nobody runs `key` (at once when nobody does): the holder finished, failed or
   * was cancelled, or its process is gone. Rejects with the signal's reason when it aborts first.
   */
  settled(key: string, signal?: AbortSignal): Promise<void>;
  /** Resolves once this build holds `key` (waiting as `settled` does). Rejects with the signal's reason when it aborts first. */
  acquire(key: string, signal?: AbortSignal): Promise<StepLock>;
  /** Removes the rows of processes that are gone; returns how many. */
  dropStale(): number;
}

// A waiter sees a release by another process within this: short beside any step that is worth waiting for.
const firstPollMs = 10;
const maxPollMs = 100;

export function openStepLocks(db: Database): StepLocks {
  // Kept out of the migrations list on purpose: a row lives as long as a step runs, so the table
  // carries no data worth migrating, and made here it stays this module's alone.
  db.exec('CREATE TABLE IF NOT EXISTS step_locks (key TEXT PRIMARY KEY, owner TEXT NOT NULL, since INTEGER NOT NULL) WITHOUT ROWID');
  const insert = db.prepare('INSERT OR IGNORE INTO step_locks (key, owner, since) VALUES (?, ?, ?)');
  const ownerOf = db.prepare('SELECT owner FROM step_locks WHERE key = ?');
  const removeIf = db.prepare('DELETE FROM step_locks WHERE key = ? AND owner = ?');
  const all = db.prepare('SELECT key, owner FROM step_locks');
  /** In this engine: key → settles when its holder releases it. */
  const held = new Map<string, Promise<void>>();

  /** The row's owner when it is a live process; a dead owner's row is removed. */
  const liveOwner = (key: string): string | undefined => {
    const row = ownerOf.get(key) as { owner: string } | undefined;
    if (!row) return undefined;
    if (ownerAlive(row.owner)) return row.owner;
    // compare-and-delete: only the dead owner's row, never one a live process took meanwhile
    removeIf.run(key, row.owner);
    return undefined;
  };

  /** Takes the row for `me`; false while a live process holds it. */
  const tryTake = (key: string, me: string): boolean => {
    if (Number(insert.run(key, me, Date.now()).changes) === 1) return true;
    // a dead owner's row is removed by liveOwner: try once more at once
    return liveOwner(key) === undefined && Number(insert.run(key, me, Date.now()).changes) === 1;
  };

  const poll = async (done: () => boolean, signal: AbortSignal | undefined): Promise<void> => {
    signal?.throwIfAborted();
    for (let pause = firstPollMs; !done(); pause = Math.min(maxPollMs, pause * 2)) await sleep(pause, signal);
  };

  return {
    busy: (key) => held.has(key) || liveOwner(key) !== undefined,
    async settled(key, signal) {
      for (let h = held.get(key); h; h = held.get(key)) await abortable(h, signal);
      await poll(() => liveOwner(key) === undefined, signal);
    },
    async acquire(key, signal) {
      for (let h = held.get(key); h; h = held.get(key)) await abortable(h, signal);
      signal?.throwIfAborted();
      // ours in this engine from here on: its other builds wait on this promise, not on the row
      let open!: () => void;
      held.set(key, new Promise<void>((r) => (open = r)));
      const me = `${processIdentity()}-${randomBytes(6).toString('hex')}`;
      const release = () => {
        held.delete(key);
        open();
      };
      try {
        await poll(() => tryTake(key, me), signal);
      } catch (e) {
        release();
        throw e;
      }
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            removeIf.run(key, me);
          } finally {
            release();
          }
        },
      };
    },
    dropStale() {
      let n = 0;
      for (const r of all.all() as { key: string; owner: string }[]) {
        if (!ownerAlive(r.owner)) n += Number(removeIf.run(r.key, r.owner).changes);
      }
      return n;
    },
  };
}

/** `p`, or the signal's reason if it aborts first. */
function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
